// `lenet5 train`: trains with every core, shows progress, evaluates after each epoch, keeps a run
// folder (checkpoint, metrics.jsonl, training.svg), saves on Ctrl-C, and ends with the test
// error and the weights hash.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { createTrainer, type Trainer } from '../trainer.js';
import type { EpochEvent, StepEvent, TrainEvent } from '../coordinator.js';
import type { TrainerOptions } from '../options.js';
import { trainingSvg } from '../plot.js';
import { duration, grouped, percent, runName } from './format.js';

export interface TrainFlags {
  options: TrainerOptions;
  epochs?: number;
  steps?: number;
  save?: string;
  out?: string;
  json: boolean;
}

/** Writes the human-readable lines to stdout, or nothing with --json (JSON lines only). */
function printer(json: boolean) {
  return (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
}

export async function trainCommand(flags: TrainFlags): Promise<number> {
  const say = printer(flags.json);
  const started = performance.now();
  const trainer: Trainer = await createTrainer(flags.options);
  const o = trainer.options;
  if (trainer.warning) process.stderr.write(`lenet5: warning: ${trainer.warning}\n`);
  const runDir = resolve(flags.out ?? join('runs', runName(o.model)));
  const checkpoint = resolve(flags.save ?? join(runDir, 'model.safetensors'));
  let metrics: WriteStream;
  try {
    mkdirSync(runDir, { recursive: true });
    metrics = createWriteStream(join(runDir, 'metrics.jsonl'), { flags: 'a' });
    await new Promise<void>((ready, failed) => metrics.once('open', () => ready()).once('error', failed));
  } catch (e) {
    await trainer.close();
    throw new Error(`cannot write the run folder ${runDir}: ${(e as Error).message}`);
  }
  metrics.on('error', (e) => process.stderr.write(`lenet5: warning: metrics.jsonl: ${e.message}\n`));
  const epochs = flags.epochs ?? o.epochs;
  const lastStep = Math.min(epochs * trainer.stepsPerEpoch, flags.steps ?? Infinity);
  say(
    `lenet5 train: ${o.model} on ${grouped(trainer.data.train.count)} samples, ${o.workers} workers, S=${o.shards}, batch ${o.batchSize}, ` +
      `lr ${o.learningRate} (x${o.lrDecay} every ${o.lrDecayEvery} epochs), momentum ${o.momentum}, ` +
      `${o.augment ? 'distortions on' : 'no distortions'}, seed ${o.seed}` +
      (trainer.step ? `; resuming at step ${trainer.step}` : ''),
  );
  say(`run folder ${runDir}`);

  // Ctrl-C: stop after the current step, save, report. A second Ctrl-C quits without saving (the
  // last epoch's checkpoint is intact), except during a save, which it lets finish first.
  const stop = new AbortController();
  let interrupts = 0;
  let saving = false;
  let quitAfterSave = false;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nstopping after this step to save a checkpoint (Ctrl-C again to quit without saving)\n');
      stop.abort();
    } else if (saving) {
      process.stderr.write('\nfinishing the save in progress, then quitting\n');
      quitAfterSave = true;
    } else process.exit(130);
  };
  // Saves the checkpoint and redraws the plot, once per step count: a run that ends on an epoch
  // boundary has already saved for its last epoch event.
  let last: { step: number; model: string } | null = null;
  const save = async (): Promise<string> => {
    if (last?.step === trainer.step) return last.model;
    saving = true;
    try {
      const { model } = await trainer.save(checkpoint);
      await writeFile(join(runDir, 'training.svg'), await trainingSvg(steps, epochEvents, `${o.model}: ${runDir}`));
      last = { step: trainer.step, model };
      return model;
    } finally {
      saving = false;
      if (quitAfterSave) process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);

  const bar =
    !flags.json && process.stderr.isTTY
      ? new SingleBar({
          stream: process.stderr,
          format: 'epoch {epoch} |{bar}| {percentage}% | step {value}/{total} | loss {loss} | {rate} samples/s | ETA {eta}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        })
      : null;
  bar?.start(lastStep, trainer.step, { epoch: '-', loss: '-', rate: '-', eta: '-' });
  let lastLog = performance.now();

  const steps: StepEvent[] = [];
  const epochEvents: EpochEvent[] = [];
  let stepMs = 0; // smoothed wall time of a step
  let evalMs = 0;
  let code = 0;
  const emit = (ev: TrainEvent) => {
    const line = JSON.stringify(ev);
    metrics.write(`${line}\n`);
    if (flags.json) process.stdout.write(`${line}\n`);
  };

  try {
    let afterStep = performance.now();
    for await (const ev of trainer.train({ epochs, steps: flags.steps, signal: stop.signal })) {
      emit(ev);
      if (ev.type === 'step') {
        steps.push(ev);
        stepMs = stepMs ? 0.95 * stepMs + 0.05 * ev.ms : ev.ms;
        const evalsLeft = Math.floor(lastStep / trainer.stepsPerEpoch) - Math.floor(ev.step / trainer.stepsPerEpoch);
        const eta = (lastStep - ev.step) * stepMs + evalsLeft * evalMs;
        bar?.update(ev.step, {
          epoch: `${ev.epoch + 1}/${epochs}`,
          loss: ev.loss.toFixed(4),
          rate: grouped((o.batchSize * 1000) / stepMs),
          eta: duration(eta),
        });
        if (!bar && !flags.json && performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          say(`  step ${ev.step}/${lastStep}  loss ${ev.loss.toFixed(4)}  ${grouped((o.batchSize * 1000) / stepMs)} samples/s  ETA ${duration(eta)}`);
        }
        afterStep = performance.now();
      } else if (ev.type === 'epoch') {
        evalMs = performance.now() - afterStep;
        epochEvents.push(ev);
        const saved = await save();
        bar?.stop();
        say(
          `epoch ${ev.epoch}/${epochs}: test error ${percent(ev.testError)} (loss ${ev.testLoss.toFixed(4)}), ` +
            `train loss ${ev.trainLoss.toFixed(4)}, ${duration(performance.now() - started)} elapsed; saved ${saved}`,
        );
        if (bar && ev.step < lastStep) bar.start(lastStep, ev.step, { epoch: `${ev.epoch + 1}/${epochs}`, loss: '-', rate: '-', eta: '-' });
      } else {
        bar?.stop();
        const saved = await save();
        if (ev.reason === 'aborted') {
          say(`stopped at step ${ev.step} (epoch ${ev.epochs.toFixed(2)}); resume with: lenet5 train --init ${saved}`);
          code = 130;
        }
        say(`test error ${percent(ev.testError)} (${grouped(ev.testError * trainer.data.test.count)} of ${grouped(trainer.data.test.count)}), test loss ${ev.testLoss.toFixed(4)}`);
        say(`wall time ${duration(performance.now() - started)}`);
        say(`checkpoint ${saved}`);
        say(`metrics ${join(runDir, 'metrics.jsonl')}, plot ${join(runDir, 'training.svg')}`);
        say(`weights sha256: ${ev.weightsSha256}`);
      }
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    await new Promise<void>((done) => metrics.end(done));
    await trainer.close();
  }
  return code;
}
