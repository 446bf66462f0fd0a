// Averaging the micro-batch gradients, the learning-rate schedule and the optimizers (SGD with
// momentum, Adam, AdamW as torch.optim writes them), on the parameter store. Each entry's
// arithmetic is fixed (slots summed in index order), so every bit of the weights depends on the
// shard count S but never on which thread computed a slot or updated which range.
//
// The JS loops below are the definition: per element float64 arithmetic on float32 storage, every
// state value rounded to float32 when stored and read back as stored. Per-step scalars (bias
// corrections, the schedule's cosine) are computed once in JS and passed in, so that when the
// WebAssembly kernels are loaded in this thread the same arithmetic runs there
// (src/kernels/update.as.ts: the same float64 operations per element, same bits, which
// test/engine.test.ts and test/optimizers.test.ts check), in place in the store's memory where
// this thread has the kernels on it (src/kernels/store-kernels.ts), else on copies: V8's loops
// over shared-memory arrays are several times slower, and all workers wait for the update.
// Math.pow and Math.cos are V8's fdlibm ports in Node 20-24 and Chromium alike (not left to
// the C library).
import type { ParamStore } from './params.js';
import { Arena, kernels, scoped, wasmReady, type KernelExports } from './kernels/wasm.js';
import { f64, i32 } from './kernels/heap.js';
import { storeKernels } from './kernels/store-kernels.js';

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
 * rounded once. Entries lo..hi-1 only (default: all); returns false if any is NaN or infinite.
 */
export function averageSlots(store: ParamStore, counts: readonly number[], useWasm = wasmReady(), lo = 0, hi = store.layout.size): boolean {
  const n = counts.reduce((a, b) => a + b, 0);
  const used = counts.flatMap((c, s) => (c ? [s] : []));
  const weights = Float64Array.from(used, (s) => counts[s] / n);
  const slots = used.map((s) => store.slot(s).subarray(lo, hi));
  const g = store.grad.subarray(lo, hi);
  if (useWasm) return averageSlotsWasm(store, slots, weights, g);
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
 * store.grad, to the trainable tensors, and advances store.version: the update reads the weights
 * and state at the current version and writes the other copy (params.ts). Fixed tensors never
 * move. The store must hold the optimizer's state regions (OPTIMIZER_STATE).
 */
export function optimizerStep(store: ParamStore, s: OptimizerSettings, lr: number, step: number, useWasm = wasmReady()): void {
  const version = store.version;
  updateRange(store, s, lr, step, version, 0, store.layout.size, useWasm);
  store.version = version + 1;
}

/** SGD with momentum (optimizerStep with optimizer 'sgd'). */
export function sgdStep(store: ParamStore, lr: number, mu: number, weightDecay = 0, useWasm = wasmReady()): void {
  optimizerStep(store, { optimizer: 'sgd', momentum: mu, weightDecay, beta1: 0, beta2: 0, epsilon: 0 }, lr, store.version, useWasm);
}

/**
 * Entries lo..hi-1 of update number `step`, from the weights and state at `version` (and
 * store.grad) into their copies at version + 1; the version itself is left to the caller, which
 * commits it once every range is written (one range per worker, in parallel).
 *
 * SGD with momentum (torch.optim.SGD, dampening 0): g' = g + wd w (only when wd is not 0, so
 * that without decay the bits are those of plain momentum SGD); v = mu v + g'; w -= lr v.
 *
 * Adam and AdamW (torch.optim.Adam / AdamW, amsgrad off) at 1-based step t = step + 1:
 *   adam:  g' = g + wd w (L2, when wd is not 0)          adamw: w' = w (1 - lr wd), g' = g
 *   m = beta1 m + (1 - beta1) g';  v = beta2 v + (1 - beta2) g' g'   (both stored as float32)
 *   w = w' - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * which is PyTorch's step_size and denom; w rounded to float32 once.
 */
export function updateRange(store: ParamStore, s: OptimizerSettings, lr: number, step: number, version: number, lo: number, hi: number, useWasm = wasmReady()): void {
  const names = OPTIMIZER_STATE[s.optimizer];
  const from = [store.weightsAt(version), ...names.map((n) => store.stateRegion(n, version))];
  const to = [store.weightsAt(version + 1), ...names.map((n) => store.stateRegion(n, version + 1))];
  // Per tensor: the part of it inside lo..hi; fixed tensors (and their zero state) are carried over.
  const parts: { a: number; b: number }[] = [];
  for (const t of store.layout.tensors) {
    const a = Math.max(lo, t.offset);
    const b = Math.min(hi, t.offset + t.size);
    if (a >= b) continue;
    if (t.trainable) parts.push({ a, b });
    else for (let k = 0; k < from.length; k++) to[k].set(from[k].subarray(a, b), a);
  }
  if (!parts.length) return;
  const g = store.grad;
  if (s.optimizer === 'sgd') {
    const [mu, wd] = [s.momentum, s.weightDecay];
    if (useWasm) return updateInWasm(store, g, from, to, lo, hi, parts, (k, p, n) => k.sgdStep(p[0], p[2], p[1], p[4], p[3], n, lr, mu, wd));
    const [w, v, w2, v2] = [from[0], from[1], to[0], to[1]];
    for (const { a, b } of parts) {
      for (let i = a; i < b; i++) {
        v2[i] = mu * v[i] + (wd === 0 ? g[i] : g[i] + wd * w[i]);
        w2[i] = w[i] - lr * v2[i];
      }
    }
    return;
  }
  const adamw = s.optimizer === 'adamw';
  const t = step + 1;
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
  if (useWasm) {
    return updateInWasm(store, g, from, to, lo, hi, parts, (wk, p, n) =>
      wk.adamStep(p[0], p[2], p[3], p[1], p[5], p[6], p[4], n, k.l2, k.decay, k.b1, k.c1, k.b2, k.c2, k.stepSize, k.bc2Sqrt, k.eps));
  }
  const [w, m, v, w2, m2, v2] = [from[0], from[1], from[2], to[0], to[1], to[2]];
  for (const { a, b } of parts) {
    for (let i = a; i < b; i++) {
      const gi = k.l2 === 0 ? g[i] : g[i] + k.l2 * w[i];
      m2[i] = k.b1 * m[i] + k.c1 * gi;
      v2[i] = k.b2 * v[i] + k.c2 * gi * gi;
      w2[i] = w[i] * k.decay - (k.stepSize * m2[i]) / (Math.sqrt(v2[i]) / k.bc2Sqrt + k.eps);
    }
  }
}

/** In place where the store's memory has the kernels (store-kernels.ts), else through copies in this thread's wasm memory. */
function averageSlotsWasm(store: ParamStore, slots: Float32Array[], weights: Float64Array, g: Float32Array): boolean {
  const S = slots.length;
  const inPlace = store.memory && storeKernels(store.memory);
  const scratch = inPlace && inPlace.scratch(S);
  if (inPlace && scratch) {
    scratch.coefficients.set(weights);
    slots.forEach((slot, k) => (scratch.pointers[k] = slot.byteOffset));
    return inPlace.exports.averageSlots(scratch.ptrs, S, scratch.cs, g.length, g.byteOffset) === 1;
  }
  return scoped(() => {
    const n = g.length;
    const arena = new Arena();
    const sp = arena.alloc(S * n);
    const pp = arena.alloc(S);
    const cp = arena.alloc(2 * S);
    const gp = arena.alloc(n);
    const pointers = i32(pp, S);
    slots.forEach((slot, k) => {
      arena.f32(sp + 4 * k * n, n).set(slot);
      pointers[k] = sp + 4 * k * n;
    });
    f64(cp, S).set(weights);
    const finite = kernels().averageSlots(pp, S, cp, n, gp) === 1;
    g.set(arena.f32(gp, n));
    return finite;
  });
}

/** What an optimizer's kernel is given: the kernels to call, byte pointers to a part's first entry in g, each `from` and each `to` region (in that order), its length. */
type UpdateKernel = (k: KernelExports, p: number[], n: number) => void;

/**
 * Runs `kernel` on each trainable part of entries lo..hi-1: in place where the store's memory has
 * the kernels (store-kernels.ts), else on copies of the gradient and the `from` regions (weights,
 * then state) in this thread's wasm memory, copying the `to` ranges back.
 */
function updateInWasm(
  store: ParamStore, g: Float32Array, from: readonly Float32Array[], to: readonly Float32Array[], lo: number, hi: number,
  parts: readonly { a: number; b: number }[], kernel: UpdateKernel,
): void {
  const inPlace = store.memory && storeKernels(store.memory);
  if (inPlace) {
    const regions = [g, ...from, ...to];
    for (const { a, b } of parts) kernel(inPlace.exports, regions.map((r) => r.byteOffset + 4 * a), b - a);
    return;
  }
  scoped(() => {
    const arena = new Arena();
    const ins = [g, ...from].map((r) => arena.put(r.subarray(lo, hi)));
    const outs = to.map(() => arena.alloc(hi - lo));
    for (const { a, b } of parts) kernel(kernels(), [...ins, ...outs].map((p) => p + 4 * (a - lo)), b - a);
    to.forEach((r, k) => {
      // Only the trainable parts were written: copy those back, leaving the carried-over fixed tensors.
      for (const { a, b } of parts) r.set(arena.f32(outs[k] + 4 * (a - lo), b - a), a);
    });
  });
}
