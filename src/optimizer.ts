// Averaging the micro-batch gradients and the SGD update, on the parameter store in place. Both
// run on the coordinator's thread only, in a fixed order, so the arithmetic (and therefore every
// bit of the weights) depends on the shard count S but never on which thread computed a slot.
import type { ParamStore } from './params.js';

export interface Schedule {
  readonly learningRate: number;
  readonly lrDecay: number;
  readonly lrDecayEvery: number;
}

/** Step decay: lr * lrDecay^floor(epoch / lrDecayEvery), epoch counted from 0. */
export function learningRateAt(s: Schedule, epoch: number): number {
  return s.learningRate * Math.pow(s.lrDecay, Math.floor(epoch / s.lrDecayEvery));
}

let scratch = new Float64Array(0); // the float64 accumulator, reused across steps

/**
 * grad = sum over s = 0..S-1, in that order, of (n_s / n) slot_s, where n_s is micro-batch s's
 * sample count (0 for an unused slot) and n their sum: each slot holds its micro-batch's mean-loss
 * gradient, so this is the full batch's mean-loss gradient. Accumulates in float64, rounds once.
 * Returns false if any entry is NaN or infinite.
 */
export function averageSlots(store: ParamStore, counts: readonly number[]): boolean {
  const n = counts.reduce((a, b) => a + b, 0);
  const g = store.grad;
  if (scratch.length !== g.length) scratch = new Float64Array(g.length);
  const acc = scratch;
  acc.fill(0);
  // Slot by slot, in index order: acc[i] ends as ((0 + w_0 s_0[i]) + w_1 s_1[i]) + ..., the same
  // float64 sum, term for term, whatever thread filled which slot.
  for (let s = 0; s < counts.length; s++) {
    if (counts[s] === 0) continue;
    const w = counts[s] / n;
    const slot = store.slot(s);
    for (let i = 0; i < acc.length; i++) acc[i] += w * slot[i];
  }
  let finite = true;
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i];
    g[i] = v;
    if (v - v !== 0) finite = false; // NaN or +-Infinity
  }
  return finite;
}

/** SGD with momentum on the trainable tensors: v = mu v + grad; w -= lr v. Fixed tensors never move. */
export function sgdStep(store: ParamStore, lr: number, mu: number): void {
  const { weights: w, momentum: v, grad: g } = store;
  for (const t of store.layout.tensors) {
    if (!t.trainable) continue;
    for (let i = t.offset; i < t.offset + t.size; i++) {
      v[i] = mu * v[i] + g[i];
      w[i] -= lr * v[i];
    }
  }
}
