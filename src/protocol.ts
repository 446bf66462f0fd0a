// What the coordinator and the workers say to each other, in one place. A worker gets a
// WorkerInit once (shared memory: images, labels, the parameter store) and then only small tasks:
// never pixels, never weights. Every pool (inline, Piscina, Comlink) carries these same messages.
import type { Dataset } from './data.js';
import type { KernelSet } from './kernel-set.js';
import type { OptimizerSettings, Schedule } from './optimizer.js';

export interface WorkerInit {
  /** The model: a built-in name, or the absolute URL of its module (src/models/index.ts loadModel). */
  readonly model: string;
  /** The model's options, every one filled. */
  readonly modelOptions: Readonly<Record<string, number>>;
  readonly kernels: KernelSet;
  readonly seed: number;
  /** The model's augmentation ranges for training batches, or null for none. */
  readonly augment: Readonly<Record<string, number>> | null;
  /**
   * The ParamStore's shared memory (ParamStore.shared): a shared WebAssembly.Memory, which a pool
   * passes by structured clone (postMessage, workerData), never in a transfer list.
   */
  readonly params: WebAssembly.Memory | SharedArrayBuffer;
  /** Where the workers of a steps task meet (src/step-control.ts); absent for a worker that only evaluates (profiling). */
  readonly control?: SharedArrayBuffer;
  /** The names of the store's optimizer state regions (optimizer.ts OPTIMIZER_STATE), which steps tasks update. */
  readonly state?: readonly string[];
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Compute the mean-loss gradient of one micro-batch into store slot `slot`. */
export interface GradientTask {
  readonly kind: 'gradient';
  /** The store version (steps applied) the weights must be at; the worker refuses any other. */
  readonly version: number;
  readonly slot: number;
  /** Epoch of the step: names the distortion stream when augmenting. */
  readonly epoch: number;
  /** Training-set indices of the micro-batch's samples, in order. */
  readonly indices: Int32Array;
}

/**
 * Train steps version, version + 1, ... together with the pool's other workers, one such task
 * each (src/steps.ts): each computes its micro-batches of a step (the slots s with s % workers ==
 * worker), meets the others at a barrier, averages and updates its own range of the parameters,
 * meets them again, and goes on to the next step without a message. The task ends after `count`
 * steps, when a step ends past `budgetMs` from the start, when the coordinator asks (stop or
 * abort, in the control block) or when a step diverges; the control block says how far it got.
 */
export interface StepsTask {
  readonly kind: 'steps';
  /** The store version the first step starts from. */
  readonly version: number;
  readonly count: number;
  /** The epoch every step of the task belongs to (a task never crosses an epoch's end). */
  readonly epoch: number;
  readonly worker: number;
  readonly workers: number;
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  readonly shuffle: boolean;
  readonly optimizer: OptimizerSettings & Schedule;
  /** End the task after the step during which this many ms have passed since the coordinator started it. */
  readonly budgetMs: number;
  /**
   * Stop waiting for the other workers after this many ms of the task (less than the task
   * timeout): a worker stuck at the barrier behind a hung peer gives up before its own timeout.
   */
  readonly patienceMs: number;
}

/** Forward samples start..end-1 of a split; count errors and sum losses. */
export interface EvaluateTask {
  readonly kind: 'evaluate';
  readonly version: number;
  readonly split: 'train' | 'test';
  readonly start: number;
  readonly end: number;
}

/** Forward some images (not from the datasets); return their scores [n, K] and classes. */
export interface PredictTask {
  readonly kind: 'predict';
  readonly version: number;
  /** n images of the model's shape [H, W, C], bytes or float32. */
  readonly images: Uint8Array | Float32Array;
}

export type Task = GradientTask | StepsTask | EvaluateTask | PredictTask;

export interface GradientResult {
  readonly kind: 'gradient';
  readonly slot: number;
  /** Mean loss over the micro-batch. */
  readonly loss: number;
  readonly count: number;
  /** Milliseconds the worker spent on the task (building the batch, forward, backward, writing the slot). */
  readonly computeMs: number;
  /** Stock kernels this worker ran for the first time since its last result (src/kernels/fallbacks.ts); absent when none. */
  readonly fallbacks?: readonly string[];
}

/** A steps task's answer; how far it got, and each step's record, are in the control block. */
export interface StepsResult {
  readonly kind: 'steps';
  readonly fallbacks?: readonly string[];
}

export interface EvaluateResult {
  readonly kind: 'evaluate';
  readonly count: number;
  readonly errors: number;
  readonly lossSum: number;
}

export interface PredictResult {
  readonly kind: 'predict';
  readonly scores: Float32Array;
  readonly predicted: Int32Array;
}

export type Result = GradientResult | StepsResult | EvaluateResult | PredictResult;

export type ResultOf<T extends Task> = T extends GradientTask
  ? GradientResult
  : T extends StepsTask
    ? StepsResult
    : T extends EvaluateTask
    ? EvaluateResult
    : PredictResult;

/**
 * Runs tasks on some threads. Implementations: pools/inline.ts, pools/piscina.ts, pools/comlink.ts.
 * `size` tasks given at once must run at once, each on a thread of its own: the workers of a
 * steps task wait for each other at the barrier. A task whose thread dies or runs past the
 * timeout rejects, and the pool puts a new thread in the dead one's place; the coordinator then
 * runs the step again (same inputs, same bits).
 */
export interface WorkerPool {
  /** Number of threads computing. */
  readonly size: number;
  /** Set when tasks run on the calling thread (pools/inline.ts): it gets one step at a time, so events and other work are not held up. */
  readonly inline?: boolean;
  run<T extends Task>(task: T): Promise<ResultOf<T>>;
  /** Stops the threads; pending tasks reject. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface PoolOptions {
  /** A task still running after this many milliseconds counts as a dead worker: its thread is stopped and replaced. */
  readonly taskTimeoutMs: number;
}

/** Makes a pool of `size` threads, each initialised with `init`. */
export type PoolFactory = (init: WorkerInit, size: number, options: PoolOptions) => Promise<WorkerPool>;
