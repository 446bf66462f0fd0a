// Averaging the micro-batch gradients and the SGD update, on the parameter store in place. Both
// run on the coordinator's thread only, in a fixed order, so the arithmetic (and therefore every
// bit of the weights) depends on the shard count S but never on which thread computed a slot.
//
// The JS loops below are the definition. When the WebAssembly kernels are loaded in this thread
// the same arithmetic runs there (src/kernels/update.as.ts: same float64 operations, same bits, which
// test/engine.test.ts checks), because V8's loops over shared-memory arrays made the update
// ~0.6 ms of every step, during which all workers wait.
import type { ParamStore } from './params.js';
import { Arena, kernels, wasmReady } from './kernels/wasm.js';

export interface Schedule {
  readonly learningRate: number;
  readonly lrDecay: number;
  readonly lrDecayEvery: number;
}

/** Step decay: lr * lrDecay^floor(epoch / lrDecayEvery), epoch counted from 0. */
export function learningRateAt(s: Schedule, epoch: number): number {
  return s.learningRate * Math.pow(s.lrDecay, Math.floor(epoch / s.lrDecayEvery));
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

/** SGD with momentum on the trainable tensors: v = mu v + grad; w -= lr v. Fixed tensors never move. */
export function sgdStep(store: ParamStore, lr: number, mu: number, useWasm = wasmReady()): void {
  if (useWasm) return sgdStepWasm(store, lr, mu);
  const { weights: w, momentum: v, grad: g } = store;
  for (const t of store.layout.tensors) {
    if (!t.trainable) continue;
    for (let i = t.offset; i < t.offset + t.size; i++) {
      v[i] = mu * v[i] + g[i];
      w[i] -= lr * v[i];
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

function sgdStepWasm(store: ParamStore, lr: number, mu: number): void {
  const P = store.layout.size;
  const arena = new Arena();
  const [gp, vp, wp] = [store.grad, store.momentum, store.weights].map((r) => arena.put(r));
  for (const t of store.layout.tensors) {
    if (t.trainable) kernels().sgdStep(gp + 4 * t.offset, vp + 4 * t.offset, wp + 4 * t.offset, t.size, lr, mu);
  }
  store.momentum.set(arena.f32(vp, P));
  store.weights.set(arena.f32(wp, P));
}
