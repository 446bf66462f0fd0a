// `lenet5 eval CKPT`: the test error and loss of a saved checkpoint.
import { createTrainer } from '../trainer.js';
import { grouped, percent } from './format.js';

export async function evalCommand(checkpoint: string, flags: { model?: string; data?: string; workers?: number; kernels?: 'fast' | 'stock'; json: boolean }): Promise<number> {
  const trainer = await createTrainer({ init: checkpoint, model: flags.model, data: flags.data, workers: flags.workers, kernels: flags.kernels });
  try {
    const r = await trainer.evaluate('test');
    const sha = await trainer.weightsSha256();
    const o = trainer.options;
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ type: 'eval', checkpoint, model: o.model, step: trainer.step, testError: r.error, testLoss: r.loss, errors: r.errors, count: r.count, weightsSha256: sha })}\n`,
      );
    } else {
      process.stdout.write(`${checkpoint}: ${o.model}, step ${trainer.step}\n`);
      process.stdout.write(`test error ${percent(r.error)} (${grouped(r.errors)} of ${grouped(r.count)}), test loss ${r.loss.toFixed(4)}\n`);
      process.stdout.write(`weights sha256: ${sha}\n`);
    }
  } finally {
    await trainer.close();
  }
  return 0;
}
