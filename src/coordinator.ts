// The coordinator: synchronous data-parallel SGD. It gives every thread of the pool one steps
// task at a time (a fraction of a second of steps, never past an epoch's end), which the workers
// run among themselves (steps.ts: micro-batches, a barrier, each its range of the update, a
// barrier), and turns the records they leave in the control block into events; between tasks it
// evaluates, answers predict and setWeights, and runs a failed step again. Environment-neutral:
// Node (trainer.ts) and the browser (browser.ts) give it a dataset and a pool.
import { checkFits, firstSamples, type Mnist } from './data.js';
import { fixedMismatch, initParam, type ModelSpec } from './model.js';
import { builtInModel } from './models/index.js';
import { learningRateAt, OPTIMIZER_STATE } from './optimizer.js';
import type { ResolvedOptions } from './options.js';
import { MAX_STEP, ParamStore } from './params.js';
import type { PoolFactory, ResultOf, StepsTask, Task, WorkerInit, WorkerPool } from './protocol.js';
import { MAX_TASK_STEPS, Outcome, StepControl } from './step-control.js';
import { learningWarning } from './health.js';

export interface StepEvent {
  readonly type: 'step';
  /** Updates applied so far, counting any from a resumed checkpoint (1 after the first step). */
  readonly step: number;
  /** 0-based epoch the step belongs to, and the step's index inside it. */
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly stepsPerEpoch: number;
  /** Mean training loss over the step's batch (before the update). */
  readonly loss: number;
  /** The learning rate this step's update used (the schedule's value at the step). */
  readonly learningRate: number;
  readonly samples: number;
  /** Wall time of this step and the samples per second it achieved. */
  readonly ms: number;
  readonly samplesPerSec: number;
  /**
   * Where the step's time went: the slowest worker's time on its micro-batches, and the slowest
   * worker's averaging and update of its range. The rest of `ms` is waiting at the barriers (and,
   * for the first step of a task, starting the task).
   */
  readonly taskMs: number;
  readonly updateMs: number;
  /** Tasks of this step that failed (a worker died, hung or threw) and were run again; absent when none. */
  readonly faults?: readonly string[];
  /**
   * Stock tfjs kernels (plain JS, slow) that ran in a training step for the first time in this
   * run, as "Kernel [input shapes]"; absent when none. Each is reported once.
   */
  readonly fallbacks?: readonly string[];
}

export interface EpochEvent {
  readonly type: 'epoch';
  /** Epochs completed (1 after the first). */
  readonly epoch: number;
  readonly step: number;
  /** Mean training loss over the epoch's steps run in this call. */
  readonly trainLoss: number;
  readonly testError: number;
  readonly testLoss: number;
  readonly elapsedMs: number;
  /** Set when the run is not learning (see health.ts): one line that says what to change. */
  readonly warning?: string;
  /** Evaluation tasks that failed and were run again; absent when none. */
  readonly faults?: readonly string[];
}

export interface DoneEvent {
  readonly type: 'done';
  readonly step: number;
  /** Epochs completed, fractional when stopped inside an epoch. */
  readonly epochs: number;
  readonly testError: number;
  readonly testLoss: number;
  /** SHA-256 of the F32 bytes of every tensor, in checkpoint order. */
  readonly weightsSha256: string;
  readonly elapsedMs: number;
  /** Why training stopped. */
  readonly reason: 'completed' | 'aborted';
  /** Set when the run is not learning (see health.ts). */
  readonly warning?: string;
  readonly faults?: readonly string[];
}

export type TrainEvent = StepEvent | EpochEvent | DoneEvent;

export interface TrainRun {
  /** Train until this many epochs are complete (counted from step 0, so a resumed run ends where the original would). Default: options.epochs. */
  epochs?: number;
  /** ...or until this many steps are done, whichever comes first (also counted from step 0). */
  steps?: number;
  /**
   * Stops between steps when aborted, within a fraction of a second (the steps the workers were
   * given by then are finished and reported); the weights are then those after the last full step.
   */
  signal?: AbortSignal;
}

export interface Evaluation {
  readonly count: number;
  readonly errors: number;
  /** errors / count */
  readonly error: number;
  /** Mean per-sample loss. */
  readonly loss: number;
}

/** Where training starts: fresh (initialised from the seed) or from saved weights. */
export interface StartState {
  readonly weights?: Float32Array;
  /** The optimizer's state regions by name (ParamStore.state: sgd's momentum, or adam's exp_avg and exp_avg_sq); zeros when absent. */
  readonly state?: Readonly<Record<string, Float32Array>>;
  readonly step?: number;
}

export { cutShards } from './steps.js';

/**
 * A steps task ends after the step during which this much time has passed (or a tenth of the task
 * timeout, when that is less): often enough for progress, an abort, or a waiting evaluation.
 */
const TASK_BUDGET_MS = 250;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // WebCrypto (Node 20 and browsers) refuses views of shared memory: hash a private copy.
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Coordinator {
  readonly options: ResolvedOptions;
  readonly spec: ModelSpec;
  readonly store: ParamStore;
  readonly data: Mnist;
  readonly stepsPerEpoch: number;
  protected pool: WorkerPool | null = null;
  private failure: Error | null = null;
  /** Pool work runs one operation at a time (a step, an evaluation, a prediction), in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Tasks that failed and were run again since the last event that reported them. */
  private faults: string[] = [];
  /** The step that failed last and how many times in a row. */
  private retrying: { step: number; attempts: number } | null = null;
  /** Where the workers of a step meet (created with the store, sized for options.workers). */
  private readonly control: StepControl;
  /** True while a steps task runs: a new operation then asks it to end early. */
  private stepping = false;
  /** Operations called and not yet started. */
  private waiting = 0;
  /** The options the workers' updates read (a steps task carries them). */
  private readonly update: StepsTask['optimizer'];
  private readonly fallbacksSeen = new Set<string>();

  /**
   * Builds the store, fresh or from `start`; call start() before training. `spec` is the model
   * resolveOptions was given (loadModel's); a built-in one is found by its name.
   */
  constructor(options: ResolvedOptions, data: Mnist, start: StartState = {}, spec?: ModelSpec) {
    this.options = options;
    const found = spec ?? builtInModel(options.model);
    if (!found || found.name !== options.model) throw new TypeError(`Coordinator: give the ${options.model} model's spec (loadModel) with its options`);
    this.spec = found;
    this.data = options.limit ? { ...data, train: firstSamples(data.train, options.limit) } : data;
    checkFits(this.data.train, 'the training set', found);
    checkFits(this.data.test, 'the test set', found);
    this.stepsPerEpoch = Math.ceil(this.data.train.count / options.batchSize);
    this.store = ParamStore.create(this.spec, options.shards, OPTIMIZER_STATE[options.optimizer]);
    this.control = StepControl.create(options.workers, options.shards);
    const { optimizer, momentum, weightDecay, beta1, beta2, epsilon, learningRate, lrSchedule, lrDecay, lrDecayEvery, epochs } = options;
    this.update = { optimizer, momentum, weightDecay, beta1, beta2, epsilon, learningRate, lrSchedule, lrDecay, lrDecayEvery, epochs };
    this.store.version = start.step ?? 0; // first: it picks the copy of the weights and state written below
    if (start.weights) this.store.weights.set(start.weights);
    else this.store.layout.tensors.forEach((t, i) => initParam(this.spec, i, options.seed, this.store.view(this.store.weights, t.name), options.weightInit));
    for (const [name, region] of Object.entries(start.state ?? {})) this.store.stateRegion(name).set(region);
  }

  /** Starts the worker threads. */
  async start(factory: PoolFactory): Promise<this> {
    if (this.pool) throw new Error('the trainer is already started');
    const init: WorkerInit = {
      model: this.options.modelSource,
      modelOptions: this.options.modelOptions,
      kernels: this.options.kernels,
      seed: this.options.seed,
      augment: this.options.augment,
      params: this.store.shared,
      control: this.control.buffer,
      state: OPTIMIZER_STATE[this.options.optimizer],
      train: this.data.train,
      test: this.data.test,
    };
    const pool = await factory(init, this.options.workers, { taskTimeoutMs: this.options.taskTimeoutMs });
    if (!Number.isInteger(pool.size) || pool.size < 1 || pool.size > this.options.workers) {
      await pool.destroy();
      throw new Error(`the pool has ${pool.size} threads; a pool for options.workers = ${this.options.workers} must have 1 to ${this.options.workers}`);
    }
    this.control.setParties(pool.size, this.options.cores); // the barrier's parties: one steps task per thread
    this.pool = pool;
    return this;
  }

  /** Steps applied so far. */
  get step(): number {
    return this.store.version;
  }

  /** Runs `op` after every operation called before it has finished; a steps task running meanwhile ends early to let it in. */
  protected exclusive<T>(op: () => Promise<T>): Promise<T> {
    this.waiting++;
    if (this.stepping) this.control.stop();
    const result = this.queue.then(() => {
      this.waiting--;
      return op();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** One synchronous SGD step: the workers compute, average and update, and report. */
  runStep(): Promise<StepEvent> {
    return this.exclusive(async () => (await this.stepsNow(1))[0]);
  }

  /**
   * Up to `count` steps (at least one), as the workers run them without a message in between:
   * fewer when the epoch ends first, when a task's time budget runs out (a fraction of a second:
   * other work and `signal` are heard between tasks) or when `signal` aborts.
   */
  runSteps(count: number, signal?: AbortSignal): Promise<StepEvent[]> {
    if (!Number.isInteger(count) || count < 1) return Promise.reject(new TypeError(`runSteps: count must be a positive integer, got ${String(count)}`));
    return this.exclusive(() => this.stepsNow(count, signal));
  }

  /** One steps task on every worker (retried when a worker fails); the events of the steps it committed. */
  private async stepsNow(count: number, signal?: AbortSignal): Promise<StepEvent[]> {
    const pool = this.live();
    const W = pool.size;
    for (;;) {
      const version = this.store.version;
      const spe = this.stepsPerEpoch;
      const n = pool.inline ? 1 : Math.min(count, spe - (version % spe), MAX_TASK_STEPS);
      const task = (worker: number): StepsTask => ({
        kind: 'steps', version, count: n, epoch: Math.floor(version / spe), worker, workers: W, batchSize: this.options.batchSize,
        stepsPerEpoch: spe, shuffle: this.options.shuffle, optimizer: this.update,
        budgetMs: Math.min(TASK_BUDGET_MS, this.options.taskTimeoutMs / 10), patienceMs: 0.8 * this.options.taskTimeoutMs,
      });
      const control = this.control;
      control.reset();
      const stop = () => control.stop();
      signal?.addEventListener('abort', stop);
      if (signal?.aborted || this.waiting > 0) stop();
      this.stepping = true;
      // A worker that fails aborts the task for the others, which would wait for it at the barrier.
      const settled = await Promise.allSettled(Array.from({ length: W }, (_, w) => pool.run(task(w)).catch((e: unknown) => {
        control.abort();
        throw e;
      })));
      this.stepping = false;
      signal?.removeEventListener('abort', stop);
      const events = this.stepEvents(version, control.done);
      const fallbacks = settled.flatMap((r) => (r.status === 'fulfilled' ? (r.value.fallbacks ?? []) : []));
      if (events.length) Object.assign(events[events.length - 1], this.newFallbacks(fallbacks));
      if (control.outcome !== Outcome.ok) {
        const loss = control.records[4 * control.done];
        const learningRate = learningRateAt(this.options, this.store.version, spe);
        throw await this.fail(`step ${this.store.version + 1}: the ${control.outcome === Outcome.loss ? 'loss' : 'gradient'} is ${Number.isNaN(loss) ? 'NaN' : 'not finite'}; training diverged, lower the learning rate (now ${learningRate})`);
      }
      const failed = settled.flatMap((r, w) => (r.status === 'rejected' ? [{ w, why: r.reason instanceof Error ? r.reason.message : String(r.reason) }] : []));
      if (!failed.length) return events;
      await this.retryOrFail(pool, failed);
      if (events.length) return events;
    }
  }

  /**
   * After workers failed (died, hung, threw) in the first uncommitted step: counts an attempt at
   * that step and records the faults for the next event, or fails the trainer after
   * options.taskAttempts attempts. The step's inputs (the weights and state copies it reads) are
   * untouched, so running it again gives the same bits.
   */
  private async retryOrFail(pool: WorkerPool, failed: readonly { w: number; why: string }[]): Promise<void> {
    const step = this.store.version + 1;
    if (this.retrying?.step !== step) this.retrying = { step, attempts: 0 };
    const n = ++this.retrying.attempts;
    const attempts = this.options.taskAttempts;
    const what = (w: number) => {
      const slots = Array.from({ length: this.options.shards }, (_, s) => s).filter((s) => s % pool.size === w);
      return `step ${step} micro-batch${slots.length === 1 ? '' : 'es'} ${slots.join(', ')}`;
    };
    if (n >= attempts || this.pool !== pool) {
      const { w, why } = failed[0];
      throw await this.fail(`step ${step} failed: ${attempts > 1 ? `${what(w)} failed ${n} times (last: ${why})` : why}`);
    }
    for (const { w, why } of failed) this.faults.push(`${what(w)}: ${why}; running it again (attempt ${n + 1} of ${attempts})`);
  }

  /** The events of the `done` steps a task committed from `version`, from the control block's records. */
  private stepEvents(version: number, done: number): StepEvent[] {
    const r = this.control.records;
    const events: StepEvent[] = [];
    for (let k = 0; k < done; k++) {
      const v = version + k;
      const t = v % this.stepsPerEpoch;
      const samples = Math.min(this.options.batchSize, this.data.train.count - t * this.options.batchSize); // the last step of an epoch may be short
      const ms = r[4 * k + 3] - (k ? r[4 * k - 1] : this.control.started);
      events.push({
        type: 'step', step: v + 1, epoch: Math.floor(v / this.stepsPerEpoch), stepInEpoch: t, stepsPerEpoch: this.stepsPerEpoch,
        loss: r[4 * k], learningRate: learningRateAt(this.options, v, this.stepsPerEpoch), samples, ms, samplesPerSec: (samples * 1000) / ms,
        taskMs: r[4 * k + 1], updateMs: r[4 * k + 2], ...(k === 0 ? this.takeFaults() : {}),
      });
    }
    return events;
  }

  /**
   * Runs a task, and again when it fails (its worker died, hung or threw), up to
   * options.taskAttempts times. A task reads only shared inputs that do not change until the
   * step is over, and overwrites its whole slot: a repeat gives the same bits.
   */
  private async attempt<T extends Task>(pool: WorkerPool, task: T, what: string): Promise<ResultOf<T>> {
    const attempts = this.options.taskAttempts;
    for (let n = 1; ; n++) {
      try {
        return await pool.run(task);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        if (n >= attempts || this.pool !== pool) throw new Error(attempts > 1 ? `${what} failed ${n} times (last: ${why})` : why, { cause: e });
        this.faults.push(`${what}: ${why}; running it again (attempt ${n + 1} of ${attempts})`);
      }
    }
  }

  /** Fallbacks the workers report for the first time in this run ({} when none). */
  private newFallbacks(reported: readonly string[]): { fallbacks?: readonly string[] } {
    const fresh: string[] = [];
    for (const f of reported) {
      if (this.fallbacksSeen.has(f)) continue;
      this.fallbacksSeen.add(f);
      fresh.push(f);
    }
    return fresh.length ? { fallbacks: fresh } : {};
  }

  /** The faults to report with the next event ({} when there were none). */
  private takeFaults(): { faults?: readonly string[] } {
    return this.faults.length ? { faults: this.faults.splice(0) } : {};
  }

  /** Error rate and mean loss on a split, forward passes spread over the pool. */
  evaluate(split: 'test' | 'train' = 'test'): Promise<Evaluation> {
    if (split !== 'test' && split !== 'train') return Promise.reject(new TypeError(`evaluate: split must be 'test' or 'train', got ${String(split)}`));
    return this.exclusive(() => this.evaluateNow(split));
  }

  private async evaluateNow(split: 'test' | 'train'): Promise<Evaluation> {
    const pool = this.live();
    const count = this.data[split].count;
    const chunk = Math.ceil(count / (pool.size * 4));
    const tasks = [];
    for (let start = 0; start < count; start += chunk) {
      const task = { kind: 'evaluate', version: this.store.version, split, start, end: Math.min(start + chunk, count) } as const;
      tasks.push(this.attempt(pool, task, `evaluating samples ${task.start}..${task.end - 1}`));
    }
    const results = await this.guard(`evaluating on the ${split} set`, Promise.all(tasks));
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const lossSum = results.reduce((a, r) => a + r.lossSum, 0);
    return { count, errors, error: errors / count, loss: lossSum / count };
  }

  /**
   * Classifies images like the data's (n x H x W x C bytes or float32 values; for the LeNet-5 models
   * 28x28 MNIST-style, ink bright on black) with the current weights: scores [n, K] and classes.
   */
  predict(images: Uint8Array | Float32Array): Promise<{ scores: Float32Array; predicted: Int32Array }> {
    const [h, w, c] = this.spec.image;
    const side = h * w * c;
    const typed = images instanceof Uint8Array || images instanceof Float32Array;
    if (!typed || images.length === 0 || images.length % side !== 0) {
      const got = typed ? `${images.length} values` : String(images);
      return Promise.reject(new TypeError(`predict: images must be a Uint8Array or Float32Array of n x ${side} values (${h}x${w}${c > 1 ? `x${c}` : ''} each), got ${got}`));
    }
    return this.exclusive(async () => {
      const pool = this.live();
      const { scores, predicted } = await this.guard('predicting', this.attempt(pool, { kind: 'predict', version: this.store.version, images }, 'predicting'));
      return { scores, predicted };
    });
  }

  /** Trains, yielding an event per step, per completed epoch (with the test error), and a final `done`. */
  async *train(run: TrainRun = {}): AsyncGenerator<TrainEvent, void, undefined> {
    const epochs = run.epochs ?? this.options.epochs;
    if (!Number.isInteger(epochs) || epochs < 1) throw new TypeError(`train: epochs must be a positive integer, got ${String(epochs)}`);
    if (run.steps !== undefined && (!Number.isInteger(run.steps) || run.steps < 0)) {
      throw new TypeError(`train: steps must be a non-negative integer, got ${String(run.steps)}`);
    }
    const last = Math.min(epochs * this.stepsPerEpoch, run.steps ?? Infinity);
    if (last > MAX_STEP) throw new TypeError(`train: the run would end at step ${last}, past the last step a run can count (${MAX_STEP}); ask for fewer epochs or steps`);
    if (this.options.lrSchedule === 'cosine' && epochs > this.options.epochs) {
      throw new TypeError(`train: the cosine schedule reaches 0 at the end of options.epochs (${this.options.epochs}); train at most that many epochs, or set options.epochs to ${epochs}`);
    }
    const started = performance.now();
    let reason: DoneEvent['reason'] = 'completed';
    let evaluated: Evaluation | null = null;
    let lossSum = 0;
    let lossSteps = 0;
    while (this.step < last) {
      if (run.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      for (const ev of await this.runSteps(last - this.step, run.signal)) {
        yield ev;
        lossSum += ev.loss;
        lossSteps++;
      }
      evaluated = null;
      if (this.step % this.stepsPerEpoch === 0) {
        evaluated = await this.evaluate('test');
        const warning = learningWarning(this.step, evaluated.error, this.options, this.spec.classes);
        yield {
          type: 'epoch', epoch: this.step / this.stepsPerEpoch, step: this.step, trainLoss: lossSum / lossSteps,
          testError: evaluated.error, testLoss: evaluated.loss, elapsedMs: performance.now() - started,
          ...(warning ? { warning } : {}), ...this.takeFaults(),
        };
        lossSum = 0;
        lossSteps = 0;
      }
    }
    evaluated ??= await this.evaluate('test');
    const warning = learningWarning(this.step, evaluated.error, this.options, this.spec.classes);
    yield {
      type: 'done', step: this.step, epochs: this.step / this.stepsPerEpoch, testError: evaluated.error, testLoss: evaluated.loss,
      weightsSha256: await this.weightsSha256(), elapsedMs: performance.now() - started, reason,
      ...(warning ? { warning } : {}), ...this.takeFaults(),
    };
  }

  /** The weights by tensor name (PyTorch's names and layouts), each a copy, in checkpoint order. */
  weights(): Record<string, { shape: number[]; values: Float32Array }> {
    const out: Record<string, { shape: number[]; values: Float32Array }> = {};
    for (const t of this.store.layout.tensors) out[t.name] = { shape: [...t.shape], values: this.store.view(this.store.weights, t.name).slice() };
    return out;
  }

  /**
   * Replaces the named tensors' weights (copied in) after any running step; tensors not named keep
   * theirs, and the optimizer state is left as it is. Every name must be the model's, every length
   * its tensor's (and `shape`, when given, its shape); values finite; fixed tensors (C3's table,
   * RBF centres) equal to the model's own and masked weights zero. Nothing changes when any is wrong.
   */
  setWeights(weights: Record<string, ArrayLike<number> | { shape?: readonly number[]; values: ArrayLike<number> }>): Promise<void> {
    if (typeof weights !== 'object' || weights === null) return Promise.reject(new TypeError('setWeights: weights must be an object of name -> values'));
    const tensors = this.store.layout.tensors;
    const next = this.store.weights.slice();
    for (const [name, given] of Object.entries(weights)) {
      const t = tensors.find((v) => v.name === name);
      if (!t) return Promise.reject(new TypeError(`setWeights: ${this.spec.name} has no tensor ${name}; its tensors are ${tensors.map((v) => v.name).join(', ')}`));
      // An array or typed array is the values; an object (not array-like) carries values and shape.
      const plain = Array.isArray(given) || ArrayBuffer.isView(given) || !given || typeof given !== 'object' || !('values' in given);
      const values = (plain ? given : (given as { values: ArrayLike<number> }).values) as ArrayLike<number>;
      const shape = plain ? undefined : (given as { shape?: readonly number[] }).shape;
      if (shape !== undefined && shape.join(',') !== t.shape.join(',')) {
        return Promise.reject(new TypeError(`setWeights: ${name} is [${t.shape.join(', ')}], got shape [${[...shape].join(', ')}]`));
      }
      if (!values || typeof values.length !== 'number' || values.length !== t.size) {
        return Promise.reject(new TypeError(`setWeights: ${name} needs ${t.size} values ([${t.shape.join(', ')}]), got ${values && typeof values.length === 'number' ? values.length : String(values)}`));
      }
      for (let i = 0; i < t.size; i++) {
        const v = Number(values[i]);
        if (!Number.isFinite(v)) return Promise.reject(new TypeError(`setWeights: ${name}[${i}] is ${values[i]}; weights must be finite numbers`));
        next[t.offset + i] = v;
      }
    }
    const unfit = fixedMismatch(this.spec, this.store.layout, next);
    if (unfit) return Promise.reject(new TypeError(`setWeights: ${unfit}`));
    return this.exclusive(async () => {
      this.live();
      this.store.weights.set(next);
    });
  }

  /** SHA-256 of the weights region: the F32 bytes of every tensor in checkpoint order. */
  weightsSha256(): Promise<string> {
    const w = this.store.weights;
    return sha256Hex(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  }

  /** Stops the workers. The trainer cannot train afterwards; its weights stay readable. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  private live(): WorkerPool {
    if (this.failure) throw new Error(`the trainer stopped after a failure: ${this.failure.message}`, { cause: this.failure });
    if (!this.pool) throw new Error('the trainer is closed');
    return this.pool;
  }

  /** Marks the trainer failed (closing its pool) and returns the error to throw. */
  private async fail(message: string, cause?: unknown): Promise<Error> {
    this.failure = new Error(message, { cause });
    await this.close();
    return this.failure;
  }

  /** Awaits work on the pool; any worker error fails the trainer with that error's message. */
  private async guard<T>(what: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (e) {
      throw await this.fail(`${what} failed: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }
}
