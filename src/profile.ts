// Where a training step's time goes, in the calling thread: per tfjs kernel (forward + backward on
// one batch under tf.profile, kernel wall times summed by kernel name), and per gradient task by
// micro-batch size (what a worker does for each task, timed as a whole).
import { tf, useKernels, type KernelSet } from './tf.js';
import type { Mnist } from './data.js';
import { initParam } from './model.js';
import { loadModel } from './models/index.js';
import { resolveOptions } from './options.js';
import { ParamStore } from './params.js';
import { computeGradient, createWorker } from './worker.js';
import { isCount } from './bench.js';
import { median } from './stats.js';

export interface KernelProfile {
  readonly kernel: string;
  readonly calls: number;
  /** Median over repetitions of this kernel's summed time in one step. */
  readonly ms: number;
  readonly share: number;
}

export interface StepProfile {
  readonly model: string;
  readonly kernels: KernelSet;
  readonly batch: number;
  /** Profiled steps (each kernel's time is its median over them), after `warmup` unprofiled ones. */
  readonly repeats: number;
  readonly warmup: number;
  /** Median wall time of one step (forward + backward), with profiling overhead. */
  readonly stepMs: number;
  /** tfjs kernel calls in one step (forward + backward), all kernels: each costs engine work. */
  readonly kernelCalls: number;
  readonly byKernel: readonly KernelProfile[];
}

/**
 * A worker (this thread) for the model with its default options (resolveOptions': seed, weight
 * initialisation, model options, augmentation), on a one-slot store of its initial weights.
 */
async function profilingWorker(model: string, kernels: KernelSet, data: Mnist) {
  const loaded = await loadModel(model);
  const o = resolveOptions({ model, kernels, workers: 1 }, 1, {}, loaded);
  const spec = loaded.spec;
  const store = ParamStore.create(spec, 1);
  store.layout.tensors.forEach((t, i) => initParam(spec, i, o.seed, store.view(store.weights, t.name), o.weightInit));
  const worker = await createWorker({
    model: o.modelSource, modelOptions: o.modelOptions, kernels, seed: o.seed, augment: o.augment, params: store.shared, train: data.train, test: data.test,
  });
  return { spec, ctx: { options: o.modelOptions }, store, worker };
}

/**
 * Profiles `repeats` forward+backward steps on one batch after `warmup` unprofiled ones: V8
 * compiles the kernels' JS sides as they run, and a cold step's split would show its compiler, not
 * its kernels.
 */
export async function profileStep(model: string, kernels: KernelSet, data: Mnist, batch = 32, repeats = 5, warmup = 1): Promise<StepProfile> {
  if (!isCount(repeats, 1)) throw new RangeError(`repeats must be an integer >= 1, got ${String(repeats)}`);
  if (!isCount(warmup, 0)) throw new RangeError(`warmup must be an integer >= 0, got ${String(warmup)}`);
  await useKernels(kernels);
  const { spec, ctx, store, worker } = await profilingWorker(model, kernels, data);
  // The batch as the worker builds it for a task (unaugmented).
  const indices = Int32Array.from({ length: batch }, (_, i) => i);
  const { x, y } = worker.inputs(data.train, indices);
  const step = () => computeGradient(spec, ctx, store, x, y, store.slot(0));
  for (let r = 0; r < warmup; r++) step();
  const runs: Map<string, { calls: number; ms: number }>[] = [];
  const steps: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const info = await tf.profile(step);
    steps.push(performance.now() - t0);
    const by = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue; // an op's scope wrapping kernels already counted
      const e = by.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      by.set(k.name, e);
    }
    runs.push(by);
  }
  x.dispose();
  y.dispose();
  const names = [...runs[0].keys()];
  const rows = names.map((kernel) => ({
    kernel,
    calls: runs[0].get(kernel)!.calls,
    ms: median(runs.map((m) => m.get(kernel)?.ms ?? 0)),
  }));
  const total = rows.reduce((a, r) => a + r.ms, 0);
  return {
    model,
    kernels,
    batch,
    repeats,
    warmup,
    stepMs: median(steps),
    kernelCalls: rows.reduce((a, r) => a + r.calls, 0),
    byKernel: rows.map((r) => ({ ...r, share: r.ms / total })).sort((a, b) => b.ms - a.ms),
  };
}

export interface TaskSizeProfile {
  readonly model: string;
  readonly kernels: KernelSet;
  readonly batch: number;
  /** Median ms of one gradient task (build and distort the batch, forward, backward, write the slot) by its sample count. */
  readonly bySize: readonly { readonly samples: number; readonly ms: number }[];
  /**
   * The part of a task that does not shrink with its micro-batch (tfjs's per-op bookkeeping,
   * weight-sized work): t(ceil(B/2)) + t(floor(B/2)) - t(B), the cost of cutting the batch in two.
   * Every worker pays it in every step, so S workers never get S times one worker's speed, however
   * well the threads run side by side. Null for B = 1.
   */
  readonly fixedMs: number | null;
  /** t(B) / t(ceil(B/2)): the most 2 workers can gain over one, before the update and the barriers. Null for B = 1. */
  readonly twoWorkerBound: number | null;
}

/** Micro-batch sizes to time for a global batch B: powers of two below B, both halves of B, and B. */
export function taskSizes(batch: number): number[] {
  const sizes = new Set<number>([Math.ceil(batch / 2), batch]);
  if (batch > 1) sizes.add(Math.floor(batch / 2));
  for (let n = 1; n < batch; n *= 2) sizes.add(n);
  return [...sizes].sort((a, b) => a - b);
}

/**
 * Times gradient tasks of every size in taskSizes(batch), in this thread, the sizes taking turns
 * (so a drifting host slows them alike): `warmup` untimed tasks, then `rounds` timed ones per size.
 */
export async function profileTaskSizes(model: string, kernels: KernelSet, data: Mnist, batch: number, warmup: number, rounds: number): Promise<TaskSizeProfile> {
  if (!isCount(batch, 1) || batch > data.train.count) throw new RangeError(`batch must be an integer in 1..${data.train.count}, got ${String(batch)}`);
  if (!isCount(warmup, 0)) throw new RangeError(`warmup must be an integer >= 0, got ${String(warmup)}`);
  if (!isCount(rounds, 1)) throw new RangeError(`rounds must be an integer >= 1, got ${String(rounds)}`);
  const { worker } = await profilingWorker(model, kernels, data);
  const sizes = taskSizes(batch);
  let next = 0;
  const task = (samples: number) => {
    // Consecutive training samples, moving through the set: no task reuses the previous one's images.
    const indices = Int32Array.from({ length: samples }, (_, i) => (next + i) % data.train.count);
    next = (next + samples) % data.train.count;
    const r = worker.run({ kind: 'gradient', version: 0, slot: 0, epoch: 0, indices });
    if (r.kind !== 'gradient') throw new Error(`a gradient task answered with a ${r.kind} result`);
    return r.computeMs;
  };
  for (let k = 0; k < warmup; k++) task(sizes[k % sizes.length]);
  const times = sizes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) sizes.forEach((n, i) => times[i].push(task(n)));
  const bySize = sizes.map((samples, i) => ({ samples, ms: median(times[i]) }));
  const ms = (n: number) => bySize.find((b) => b.samples === n)!.ms;
  const [hi, lo] = [Math.ceil(batch / 2), Math.floor(batch / 2)];
  const split = batch > 1;
  return {
    model, kernels, batch, bySize,
    fixedMs: split ? ms(hi) + ms(lo) - ms(batch) : null,
    twoWorkerBound: split ? ms(batch) / ms(hi) : null,
  };
}
