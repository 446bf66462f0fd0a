// Embedding the trainer in your own program: options in, typed events out, Ctrl-C to stop.
// Run: npx tsx examples/embed.ts [steps]    (default: one epoch of lenet5-softmax on all cores)
import { createTrainer } from 'lenet5-parallel';

const steps = process.argv[2] ? Number(process.argv[2]) : undefined;
const trainer = await createTrainer({ model: 'lenet5-softmax', seed: 7 });
const stop = new AbortController();
process.once('SIGINT', () => stop.abort()); // stops between steps; the weights stay consistent

try {
  for await (const ev of trainer.train({ epochs: 1, steps, signal: stop.signal })) {
    if (ev.type === 'step' && ev.step % 100 === 0) {
      console.log(`step ${ev.step}/${ev.stepsPerEpoch}: loss ${ev.loss.toFixed(3)}, ${Math.round(ev.samplesPerSec)} samples/s`);
    } else if (ev.type === 'epoch') {
      console.log(`epoch ${ev.epoch}: test error ${(100 * ev.testError).toFixed(2)}%`);
    } else if (ev.type === 'done') {
      console.log(`done after ${ev.step} steps (${ev.reason}): test error ${(100 * ev.testError).toFixed(2)}%`);
      console.log(`weights sha256: ${ev.weightsSha256}`);
    }
  }
  const { model } = await trainer.save('runs/embedded/model.safetensors');
  console.log(`saved ${model}`);
} finally {
  await trainer.close(); // always stop the worker threads
}
