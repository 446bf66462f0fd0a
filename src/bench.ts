// Steady-state training throughput: for each model and worker count, a trainer runs warm-up
// steps, then `runs` timed runs of `steps` steps each (the worker counts taking turns); samples/s
// is reported as the median over runs, with min and max. Nothing here asserts a speed: it measures.
import { availableParallelism } from 'node:os';
import { createTrainer, type Trainer } from './trainer.js';
import type { Mnist } from './data.js';
import type { StepEvent } from './coordinator.js';
import { loadMnist } from './mnist-files.js';
import { KERNEL_SETS, type KernelSet } from './tf.js';
import { loadModel } from './models/index.js';
import { median } from './stats.js';

export interface BenchOptions {
  /** Built-in names or model module paths. Default: lenet5-softmax, lenet5. */
  models?: readonly string[];
  /** Worker counts to measure. Default: 1, 2, 4, ... up to the machine's parallelism, and it. */
  workers?: readonly number[];
  batchSize?: number;
  /** Timed runs per configuration (the median is reported). Default 5. */
  runs?: number;
  /** Steps per timed run. Default 50. */
  steps?: number;
  /** Untimed steps per configuration first. Default: 1,500 (DEFAULT_WARMUP), 10 for the stock kernels. */
  warmup?: number;
  kernels?: KernelSet;
  /** Train on distorted images as the model's defaults do (true), or on the images as they are (false: the same work as a plain training loop). Default true. */
  augment?: boolean;
  data?: Mnist;
  /** Called after each configuration. */
  onResult?: (r: BenchResult) => void;
}

export interface BenchResult {
  readonly model: string;
  readonly workers: number;
  readonly batch: number;
  readonly kernels: KernelSet;
  readonly augment: boolean;
  /** Median samples/s over the runs, and the slowest and fastest run. */
  readonly samplesPerSec: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
  readonly warmup: number;
  /**
   * Means over the timed steps, in ms: a step, the slowest worker's micro-batches, and the
   * slowest worker's averaging and update of its range; the rest of a step is waiting at the
   * barriers (and, once a task of steps, starting it).
   */
  readonly stepMs: number;
  readonly taskMs: number;
  readonly updateMs: number;
}

/**
 * Untimed steps before timing each configuration. Steady state takes long to reach: V8 keeps
 * compiling (and recompiling) tfjs's code in background threads for the first ~1,000-2,000 steps,
 * and those threads take CPU from the workers, more so when every core runs one (the
 * measurements: docs/benchmarks.md, 2026-11-28).
 */
export const DEFAULT_WARMUP = 1500;

/** The stock kernels take ~1.2 s a step: their time is all kernel, and 10 steps warm them up. */
export const STOCK_WARMUP = 10;
export const defaultWarmup = (kernels: KernelSet) => (kernels === 'stock' ? STOCK_WARMUP : DEFAULT_WARMUP);

/** 1, 2, 4, ... below `cores`, then `cores`: every count's threads exist at once while measuring. */
export function defaultWorkerCounts(cores: number): number[] {
  const counts: number[] = [];
  for (let w = 1; w < cores; w *= 2) counts.push(w);
  return [...counts, cores];
}

/** Steps per timed run: at batch 64 about half a second of training, so a run averages over many steps. */
export const DEFAULT_STEPS = 50;

export const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

export async function bench(o: BenchOptions = {}): Promise<BenchResult[]> {
  const models = o.models ?? (['lenet5-softmax', 'lenet5'] as const);
  const workerCounts = o.workers ?? defaultWorkerCounts(availableParallelism());
  const batchSize = o.batchSize ?? 64;
  const runs = o.runs ?? 5;
  const steps = o.steps ?? DEFAULT_STEPS;
  const kernels = o.kernels ?? 'fast';
  const warmup = o.warmup ?? defaultWarmup(kernels);
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string' && m !== '')) {
    throw new TypeError('options.models must be a non-empty list of built-in model names or model module paths');
  }
  if (!Array.isArray(workerCounts) || workerCounts.length === 0 || !workerCounts.every((w) => isCount(w, 1))) {
    throw new TypeError('options.workers must be a non-empty list of positive integers');
  }
  for (const [name, v, min] of [['batchSize', batchSize, 1], ['runs', runs, 1], ['steps', steps, 1], ['warmup', warmup, 0]] as const) {
    if (!isCount(v, min)) throw new TypeError(`options.${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  if (!KERNEL_SETS.includes(kernels)) throw new TypeError(`options.kernels must be one of ${KERNEL_SETS.join(', ')}`);
  const augment = o.augment ?? true;
  if (typeof augment !== 'boolean') throw new TypeError(`options.augment must be true or false, got ${String(augment)}`);
  for (const m of models) await loadModel(m, 'options.models'); // a bad name or module fails here, before any thread starts
  const data = o.data ?? loadMnist();
  const results: BenchResult[] = [];
  // No more samples than the steps use (at most the whole set: a step past the end of an epoch
  // just starts the next; runStep never evaluates).
  const limit = batchSize * (warmup + runs * steps + 1);
  for (const model of models) {
    // Every worker count's trainer is started first, and their timed runs take turns (1, 2, .., 1,
    // 2, ..): a host whose speed drifts over a minute then slows all counts alike, which keeps the
    // speed-up figures honest. Idle trainers' threads sleep (no CPU; their memory stays).
    const trainers: Trainer[] = [];
    try {
      for (const workers of workerCounts) trainers.push(await createTrainer({ model, workers, batchSize, kernels, augment, data, limit, epochs: 1 }));
      // Steps as train() runs them: several to a task, the workers going from one to the next.
      const stepsOn = async (trainer: Trainer, n: number, each: (ev: StepEvent) => void = () => {}) => {
        for (let done = 0; done < n; ) {
          for (const ev of await trainer.runSteps(n - done)) {
            done++;
            each(ev);
          }
        }
      };
      for (const trainer of trainers) await stepsOn(trainer, warmup);
      const rates = trainers.map((): number[] => []);
      const sums = trainers.map(() => ({ stepMs: 0, taskMs: 0, updateMs: 0 }));
      for (let r = 0; r < runs; r++) {
        for (const [i, trainer] of trainers.entries()) {
          const t0 = performance.now();
          await stepsOn(trainer, steps, (ev) => {
            sums[i].stepMs += ev.ms;
            sums[i].taskMs += ev.taskMs;
            sums[i].updateMs += ev.updateMs;
          });
          rates[i].push((steps * batchSize * 1000) / (performance.now() - t0));
        }
      }
      workerCounts.forEach((workers, i) => {
        const mean = (total: number) => total / (runs * steps);
        const result = {
          model, workers, batch: batchSize, kernels, augment, samplesPerSec: median(rates[i]), min: Math.min(...rates[i]), max: Math.max(...rates[i]), runs, warmup,
          stepMs: mean(sums[i].stepMs), taskMs: mean(sums[i].taskMs), updateMs: mean(sums[i].updateMs),
        };
        results.push(result);
        o.onResult?.(result);
      });
    } finally {
      await Promise.all(trainers.map((t) => t.close()));
    }
  }
  return results;
}
