// `lenet5 train`: trains with every core, shows progress, evaluates after each epoch, keeps a run
// folder (checkpoint, metrics.jsonl, training.svg), saves periodically, at each epoch's end and on
// Ctrl-C / SIGTERM / SIGHUP, and ends with the test error and the weights hash.
import pkg from '../../package.json' with { type: 'json' };
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { createTrainer, type Trainer } from '../trainer.js';
import type { EpochEvent, StepEvent, TrainEvent } from '../coordinator.js';
import type { ResolvedOptions, TrainerOptions } from '../options.js';
import { checkWritable, saveFiles } from '../files.js';
import { optimizerPath, readCheckpoint } from '../checkpoint.js';
import { trainingSvg } from '../plot.js';
import { duration, grouped, percent, runName } from './format.js';
import { claimFolder, METRICS, openRunFolder } from './run-folder.js';

/** How often to save besides epoch ends: every n steps (0: never), or every so many seconds. */
export type SaveEvery = { readonly steps: number } | { readonly seconds: number };

/** The default bounds what a SIGKILL or a power cut can cost to about a minute of training. */
export const DEFAULT_SAVE_EVERY = '60s';

/** "500" (steps), "90s", "5m", "1h", or "0" (epoch ends only). */
export function parseSaveEvery(v: string): SaveEvery {
  const m = /^\s*(\d+)\s*(s|m|h)?\s*$/.exec(v);
  if (!m || Number(m[1]) > 1e9) throw new Error('must be a step count (500), a time (90s, 5m, 1h), or 0 for epoch ends only.');
  const n = Number(m[1]);
  return m[2] && n > 0 ? { seconds: n * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] } : { steps: n };
}

export interface TrainFlags {
  options: TrainerOptions;
  epochs?: number;
  steps?: number;
  save?: string;
  out?: string;
  saveEvery: SaveEvery;
  json: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The settings that make a run this run: resuming into a folder needs them to agree. */
const RUN_KEYS = [
  'model', 'modelOptions', 'seed', 'batchSize', 'shards', 'optimizer', 'learningRate', 'lrSchedule', 'lrDecay', 'lrDecayEvery', 'momentum', 'weightDecay',
  'beta1', 'beta2', 'epsilon', 'shuffle', 'limit',
] as const;

/** The banner's account of the update: "sgd: lr 0.01 (x0.5 every 3 epochs), momentum 0.9", only what the optimizer and schedule read. */
function updateSummary(o: ResolvedOptions, stepsPerEpoch: number): string {
  const schedule = o.lrSchedule === 'cosine' ? `cosine to 0 over ${grouped(o.epochs * stepsPerEpoch)} steps` : `x${o.lrDecay} every ${o.lrDecayEvery} epochs`;
  const own = o.optimizer === 'sgd' ? `momentum ${o.momentum}` : `betas ${o.beta1}, ${o.beta2}, epsilon ${o.epsilon}`;
  return `${o.optimizer}: lr ${o.learningRate} (${schedule}), ${own}${o.weightDecay ? `, weight decay ${o.weightDecay}` : ''}`;
}

/**
 * A resumed run may continue a run folder only if the folder's checkpoint is of the same run
 * (same settings), else it would mix two runs' records and replace the other's checkpoint.
 */
async function checkSameRun(runDir: string, trainer: Trainer, init: string | undefined): Promise<void> {
  const own = join(runDir, 'model.safetensors');
  if (init !== undefined && resolve(init) === own) return; // resuming from the folder's own checkpoint
  let theirs;
  try {
    theirs = (await readCheckpoint(own, { model: trainer.spec })).recorded;
  } catch {
    return; // no readable checkpoint there: nothing to mix with
  }
  const differ = RUN_KEYS.filter((k) => theirs[k] !== undefined && JSON.stringify(theirs[k]) !== JSON.stringify(trainer.options[k]));
  if (differ.length) {
    throw new Error(`run folder ${runDir} holds another run (${differ.map((k) => `${k} ${JSON.stringify(theirs[k])}, not ${JSON.stringify(trainer.options[k])}`).join('; ')}); give another --out`);
  }
}

export async function trainCommand(flags: TrainFlags): Promise<number> {
  // Output goes until the terminal or pipe goes away (EIO, EPIPE); then training stops as on
  // SIGHUP / SIGPIPE: it saves and exits, quietly.
  let outputGone = false;
  const write = (stream: NodeJS.WriteStream, text: string) => void (outputGone || stream.write(text));
  const say = (line: string) => flags.json || write(process.stdout, `${line}\n`);
  const warn = (line: string) => write(process.stderr, `lenet5: warning: ${line}\n`);
  const started = performance.now();
  const trainer: Trainer = await createTrainer(flags.options);
  const o = trainer.options;
  let runDir = '';
  let checkpoint = '';
  let folder;
  try {
    // Before the first step: where the results go must take them.
    runDir = flags.out ? resolve(flags.out) : claimFolder(resolve(join('runs', runName(o.model))));
    checkpoint = resolve(flags.save ?? join(runDir, 'model.safetensors'));
    checkWritable(checkpoint, 'checkpoint');
    checkWritable(optimizerPath(checkpoint), 'optimizer file');
    if (trainer.step > 0) await checkSameRun(runDir, trainer, flags.options.init);
    folder = await openRunFolder(runDir, trainer.step);
  } catch (e) {
    await trainer.close();
    throw e;
  }
  // Each invocation's settings open its part of metrics.jsonl (a resumed run adds its own).
  folder.record(JSON.stringify({
    type: 'run', step: trainer.step, startedAt: new Date().toISOString(), package: `${pkg.name}@${pkg.version}`, node: process.version,
    argv: process.argv.slice(2), settings: o,
  }));
  if (trainer.warning) warn(trainer.warning);
  if (folder.dropped) say(`${METRICS}: dropped ${folder.dropped} records past step ${trainer.step}, which this run writes again`);
  const epochs = flags.epochs ?? o.epochs;
  const lastStep = Math.min(epochs * trainer.stepsPerEpoch, flags.steps ?? Infinity);
  const every = flags.saveEvery;
  say(
    `lenet5 train: ${o.model} on ${grouped(trainer.data.train.count)} samples, ${o.workers} workers, S=${o.shards}, batch ${o.batchSize}, ` +
      `${updateSummary(o, trainer.stepsPerEpoch)}, ` +
      `${o.augment ? 'augmentation on' : 'no augmentation'}, seed ${o.seed}` +
      (trainer.step ? `; resuming at step ${trainer.step}` : ''),
  );
  const period = 'seconds' in every ? (every.seconds % 60 ? `${every.seconds} s` : `${every.seconds / 60} min`) : every.steps ? `${every.steps} steps` : null;
  say(`run folder ${runDir}; saving ${period ? `every ${period}, ` : ''}at each epoch's end and on Ctrl-C`);

  // Ctrl-C, SIGTERM (timeout, docker stop, systemd) and SIGHUP: stop after the current step, save,
  // report. A second one quits without saving (the last checkpoint is intact), except during a
  // save, which it lets finish first.
  const stop = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  let saving = false;
  let quitAfterSave = false;
  const exitCode = (sig: NodeJS.Signals) => 128 + constants.signals[sig];
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled && sig === 'SIGHUP') return; // a hangup can come twice; it never means "quit now"
    if (!signalled) {
      signalled = sig;
      write(process.stderr, `\n${sig}: stopping after this step to save a checkpoint (Ctrl-C again to quit without saving)\n`);
      stop.abort();
    } else if (saving) {
      write(process.stderr, '\nfinishing the save in progress, then quitting\n');
      quitAfterSave = true;
    } else {
      write(process.stderr, `\nquitting without saving; the last checkpoint: ${saved !== null ? `${checkpoint} (step ${saved})` : 'none'}\n`);
      process.exit(exitCode(sig));
    }
  };
  const onOutputError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'EIO') throw e;
    outputGone = true;
    // Every pending write fails alike, and a closed terminal also sends SIGHUP: one stop, not a second signal.
    if (!signalled) onSignal(e.code === 'EPIPE' ? 'SIGPIPE' : 'SIGHUP');
  };

  const steps: StepEvent[] = folder.earlier.filter((r): r is StepEvent => r.type === 'step');
  const epochEvents: EpochEvent[] = folder.earlier.filter((r): r is EpochEvent => r.type === 'epoch');
  // The step of the last checkpoint known good (at `checkpoint`), and the save that failed since, if any.
  let saved = null as number | null;
  let failedSave = null as { step: number; error: Error } | null;
  let plotError = null as Error | null;
  let lastSaveAt = performance.now();
  let lastSaveStep = trainer.step;
  /** Saves the checkpoint (and, unless periodic, redraws the plot), once per step count. */
  const save = async (periodic: boolean): Promise<void> => {
    lastSaveAt = performance.now();
    lastSaveStep = trainer.step;
    if (saved === trainer.step || failedSave?.step === trainer.step) return;
    saving = true;
    try {
      await trainer.save(checkpoint);
      saved = trainer.step;
      failedSave = null;
    } catch (e) {
      failedSave = { step: trainer.step, error: e as Error };
      // Said at once; training goes on, and the next save tries again.
      warn(`${failedSave.error.message}; ${saved !== null ? `the last good checkpoint is step ${saved}` : 'nothing has been saved yet'}; training goes on`);
    } finally {
      saving = false;
      if (quitAfterSave && signalled) process.exit(exitCode(signalled));
    }
    if (!periodic) {
      try {
        saveFiles([{ path: join(runDir, 'training.svg'), bytes: new TextEncoder().encode(await trainingSvg(steps, epochEvents, `${o.model}: ${runDir}`)) }]);
        plotError = null;
      } catch (e) {
        if (!plotError) warn((e as Error).message);
        plotError = e as Error;
      }
    }
  };
  const periodicDue = (step: number) =>
    'seconds' in every ? performance.now() - lastSaveAt >= every.seconds * 1000 : every.steps > 0 && step - lastSaveStep >= every.steps;
  for (const sig of SIGNALS) process.on(sig, onSignal);
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);

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
  let stepMs = 0; // smoothed wall time of a step
  let evalMs = 0;
  let code = 0;
  const emit = (ev: TrainEvent) => {
    const line = JSON.stringify(ev);
    folder.record(line);
    if (flags.json) write(process.stdout, `${line}\n`);
    for (const f of ev.faults ?? []) warn(f);
    if (ev.type === 'step') for (const f of ev.fallbacks ?? []) warn(`a stock tfjs kernel (plain JS, slow) ran in a training step: ${f}`);
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
        // Stopping (a signal): save now, before the final evaluation, which may take seconds. The
        // workers run a few steps ahead of the events (a task of steps at a time): a save waits for
        // the event of the step the weights are at, so metrics.jsonl holds every step it saves.
        const current = ev.step === trainer.step;
        if (current && (signalled || (ev.step % trainer.stepsPerEpoch !== 0 && ev.step < lastStep && periodicDue(ev.step)))) await save(true);
        afterStep = performance.now();
      } else if (ev.type === 'epoch') {
        evalMs = performance.now() - afterStep;
        epochEvents.push(ev);
        await save(false);
        bar?.stop();
        if (ev.warning) warn(ev.warning);
        say(
          `epoch ${ev.epoch}/${epochs}: test error ${percent(ev.testError)} (loss ${ev.testLoss.toFixed(4)}), ` +
            `train loss ${ev.trainLoss.toFixed(4)}, ${duration(performance.now() - started)} elapsed` +
            (saved === ev.step ? `; saved ${checkpoint}` : '; NOT saved'),
        );
        if (bar && ev.step < lastStep) bar.start(lastStep, ev.step, { epoch: `${ev.epoch + 1}/${epochs}`, loss: '-', rate: '-', eta: '-' });
      } else {
        bar?.stop();
        await save(false);
        if (ev.warning && ev.warning !== epochEvents.at(-1)?.warning) warn(ev.warning);
        if (ev.reason === 'aborted' && saved === ev.step) {
          say(`stopped at step ${ev.step} (epoch ${ev.epochs.toFixed(2)}); resume with: lenet5 train --init ${checkpoint}`);
        }
        if (ev.reason === 'aborted') code = exitCode(signalled ?? 'SIGINT');
        say(`test error ${percent(ev.testError)} (${grouped(ev.testError * trainer.data.test.count)} of ${grouped(trainer.data.test.count)}), test loss ${ev.testLoss.toFixed(4)}`);
        say(`wall time ${duration(performance.now() - started)}`);
        if (saved === ev.step) say(`checkpoint ${checkpoint}`);
        say(`metrics ${join(runDir, METRICS)}, plot ${join(runDir, 'training.svg')}`);
        say(`weights sha256: ${ev.weightsSha256}`);
      }
    }
  } finally {
    bar?.stop();
    for (const sig of SIGNALS) process.off(sig, onSignal);
    process.stdout.off('error', onOutputError);
    process.stderr.off('error', onOutputError);
    await folder.close();
    await trainer.close();
  }
  let failure: Error | null = null;
  if (failedSave) {
    const last = saved !== null ? `the last good checkpoint is ${checkpoint} (step ${saved})` : 'nothing was saved';
    failure = new Error(`the final checkpoint could not be saved (${failedSave.error.message}); ${last}; free space or give another --save`);
  } else {
    const lost = folder.writeError() ?? plotError;
    if (lost) failure = new Error(`${lost.message}; the checkpoint is saved, but the run folder's records are incomplete`);
  }
  // A hangup (the terminal is gone, or going): end as one, by the signal itself. A normal exit
  // would restore the terminal's settings, which fails on a closed terminal and makes Node 20
  // abort; and the hangup may come before any write has failed.
  if (signalled === 'SIGHUP') {
    if (failure) write(process.stderr, `lenet5: ${failure.message}\n`);
    process.kill(process.pid, 'SIGHUP');
  }
  if (failure) throw failure;
  return code;
}
