// Averaging the micro-batch gradients, the learning-rate schedule and the optimizers (SGD with
// momentum, Adam, AdamW as torch.optim writes them), on the parameter store in place. They run
// on the coordinator's thread only, in a fixed order, so the arithmetic (and therefore every bit
// of the weights) depends on the shard count S but never on which thread computed a slot.
//
// The JS loops below are the definition: per element float64 arithmetic on float32 storage, every
// state value rounded to float32 when stored and read back as stored. Per-step scalars (bias
// corrections, the schedule's cosine) are computed once in JS and passed in, so that when the
// WebAssembly kernels are loaded in this thread the same arithmetic runs there
// (src/kernels/update.as.ts: the same float64 operations per element, same bits, which
// test/engine.test.ts and test/optimizers.test.ts check), because V8's loops over shared-memory
// arrays made the update ~0.6 ms of every step, during which all workers wait. Math.pow and
// Math.cos are V8's fdlibm ports in Node 20-24 and Chromium alike (not left to the C library).
import type { ParamStore } from './params.js';
import { Arena, kernels, wasmReady } from './kernels/wasm.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
/** `sgd`: with momentum (torch.optim.SGD); `adam`: torch.optim.Adam; `adamw`: torch.optim.AdamW (decoupled weight decay). */
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The store's state regions (ParamStore.create's names) of each optimizer, with PyTorch's names for them. */
export const OPTIMIZER_STATE: Readonly<Record<OptimizerName, readonly string[]>> = {
  sgd: ['momentum'],
  adam: ['exp_avg', 'exp_avg_sq'],
  adamw: ['exp_avg', 'exp_avg_sq'],
};

export const LR_SCHEDULES = ['step', 'cosine'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

export interface Schedule {
  readonly learningRate: number;
  readonly lrSchedule: LrScheduleName;
  readonly lrDecay: number;
  readonly lrDecayEvery: number;
  /** The run's length: the cosine schedule spans epochs * stepsPerEpoch steps. */
  readonly epochs: number;
}

/**
 * The learning rate of update `step` (0-based: the one that takes the store from step to step + 1).
 * - `step`: lr * lrDecay^floor(epoch / lrDecayEvery), epoch = floor(step / stepsPerEpoch) from 0.
 * - `cosine`: lr * 0.5 * (1 + cos(pi t / T)), t = step, T = epochs * stepsPerEpoch (the run's
 *   steps): lr at t = 0, lr / 2 halfway, towards 0 at the last step; t is held at T past the end.
 *   (torch's CosineAnnealingLR with eta_min 0 and T_max = T, stepped after every update.)
 */
export function learningRateAt(s: Schedule, step: number, stepsPerEpoch: number): number {
  if (s.lrSchedule === 'cosine') {
    const T = s.epochs * stepsPerEpoch;
    return s.learningRate * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, T)) / T));
  }
  return s.learningRate * Math.pow(s.lrDecay, Math.floor(Math.floor(step / stepsPerEpoch) / s.lrDecayEvery));
}

/**
 * grad = sum over s = 0..S-1, in that order, of (n_s / n) slot_s, where n_s is micro-batch s's
 * sample count (0 for an unused slot) and n their sum: each slot holds its micro-batch's mean-loss
 * gradient, so this is the full batch's mean-loss gradient. Each entry is summed in float64 and
 * rounded once. Returns false if any entry is NaN or infinite.
 */
export function averageSlots(store: ParamStore, counts: readonly number[], useWasm = wasmReady()): boolean {
  const n = counts.reduce((a, b) => a + b, 0);
  const used = counts.flatMap((c, s) => (c ? [s] : []));
  const weights = Float64Array.from(used, (s) => counts[s] / n);
  const slots = used.map((s) => store.slot(s));
  if (useWasm) return averageSlotsWasm(store, slots, weights);
  const g = store.grad;
  const S = slots.length;
  let finite = true;
  // Entry by entry, slots in index order: g[i] = ((0 + w_0 s_0[i]) + w_1 s_1[i]) + ..., the same
  // float64 sum, term for term, whatever thread filled which slot.
  for (let i = 0; i < g.length; i++) {
    let acc = 0;
    for (let k = 0; k < S; k++) acc += weights[k] * slots[k][i];
    g[i] = acc;
    if (acc - acc !== 0) finite = false; // NaN or +-Infinity
  }
  return finite;
}

/** The hyper-parameters of an update (ResolvedOptions has them all); each optimizer reads its own. */
export interface OptimizerSettings {
  readonly optimizer: OptimizerName;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/**
 * Applies update number `step` (0-based, as learningRateAt counts) with learning rate `lr`, from
 * store.grad, to the trainable tensors; fixed tensors never move. The store must hold the
 * optimizer's state regions (OPTIMIZER_STATE).
 */
export function optimizerStep(store: ParamStore, s: OptimizerSettings, lr: number, step: number, useWasm = wasmReady()): void {
  if (s.optimizer === 'sgd') sgdStep(store, lr, s.momentum, s.weightDecay, useWasm);
  else adamStep(store, s, lr, step + 1, useWasm);
}

/**
 * SGD with momentum (torch.optim.SGD, dampening 0): g' = g + wd w (only when wd is not 0, so
 * that without decay the bits are those of plain momentum SGD); v = mu v + g'; w -= lr v.
 */
export function sgdStep(store: ParamStore, lr: number, mu: number, weightDecay = 0, useWasm = wasmReady()): void {
  const { weights: w, momentum: v, grad: g } = store;
  if (useWasm) return updateInWasm(store, [g, v, w], (p, n) => kernels().sgdStep(p[0], p[1], p[2], n, lr, mu, weightDecay));
  const wd = weightDecay;
  for (const t of store.layout.tensors) {
    if (!t.trainable) continue;
    for (let i = t.offset; i < t.offset + t.size; i++) {
      v[i] = mu * v[i] + (wd === 0 ? g[i] : g[i] + wd * w[i]);
      w[i] -= lr * v[i];
    }
  }
}

/**
 * Adam and AdamW (torch.optim.Adam / AdamW, amsgrad off) at 1-based step t, per element:
 *   adam:  g' = g + wd w (L2, when wd is not 0)          adamw: w' = w (1 - lr wd), g' = g
 *   m = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g' g'   (both stored as float32)
 *   w = w' - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * which is PyTorch's step_size and denom; w rounded to float32 once.
 */
export function adamStep(store: ParamStore, s: OptimizerSettings, lr: number, t: number, useWasm = wasmReady()): void {
  const adamw = s.optimizer === 'adamw';
  const k = {
    l2: adamw ? 0 : s.weightDecay,
    decay: adamw ? 1 - lr * s.weightDecay : 1,
    b1: s.beta1,
    c1: 1 - s.beta1,
    b2: s.beta2,
    c2: 1 - s.beta2,
    stepSize: lr / (1 - Math.pow(s.beta1, t)),
    bc2Sqrt: Math.sqrt(1 - Math.pow(s.beta2, t)),
    eps: s.epsilon,
  };
  const [g, m, v, w] = [store.grad, store.stateRegion('exp_avg'), store.stateRegion('exp_avg_sq'), store.weights];
  if (useWasm) {
    return updateInWasm(store, [g, m, v, w], (p, n) =>
      kernels().adamStep(p[0], p[1], p[2], p[3], n, k.l2, k.decay, k.b1, k.c1, k.b2, k.c2, k.stepSize, k.bc2Sqrt, k.eps));
  }
  for (const tv of store.layout.tensors) {
    if (!tv.trainable) continue;
    for (let i = tv.offset; i < tv.offset + tv.size; i++) {
      const gi = k.l2 === 0 ? g[i] : g[i] + k.l2 * w[i];
      m[i] = k.b1 * m[i] + k.c1 * gi;
      v[i] = k.b2 * v[i] + k.c2 * gi * gi;
      w[i] = w[i] * k.decay - (k.stepSize * m[i]) / (Math.sqrt(v[i]) / k.bc2Sqrt + k.eps);
    }
  }
}

function averageSlotsWasm(store: ParamStore, slots: Float32Array[], weights: Float64Array): boolean {
  const P = store.layout.size;
  const arena = new Arena();
  const sp = arena.alloc(slots.length * P);
  const cp = arena.alloc(2 * weights.length);
  const gp = arena.alloc(P);
  slots.forEach((slot, k) => arena.f32(sp + 4 * k * P, P).set(slot));
  new Float64Array(kernels().memory.buffer, cp, weights.length).set(weights);
  const finite = kernels().averageSlots(sp, slots.length, cp, P, gp) === 1;
  store.grad.set(arena.f32(gp, P));
  return finite;
}

/**
 * Copies `regions` (the gradient first, then what the update writes) into wasm memory, runs
 * `kernel` on each trainable tensor (byte pointers to its first float in each region, its size),
 * and copies every region but the gradient back.
 */
function updateInWasm(store: ParamStore, regions: readonly Float32Array[], kernel: (p: number[], n: number) => void): void {
  const arena = new Arena();
  const ptrs = regions.map((r) => arena.put(r));
  for (const t of store.layout.tensors) if (t.trainable) kernel(ptrs.map((p) => p + 4 * t.offset), t.size);
  for (let k = 1; k < regions.length; k++) regions[k].set(arena.f32(ptrs[k], regions[k].length));
}
