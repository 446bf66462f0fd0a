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

/**
 * grad = sum over s = 0..S-1, in that order, of (n_s / n) slot_s, where n_s is micro-batch s's
 * sample count (0 for an unused slot) and n their sum: each slot holds its micro-batch's mean-loss
 * gradient, so this is the full batch's mean-loss gradient. Accumulates in float64, rounds once.
 * Returns false if any entry is NaN or infinite.
 */
export function averageSlots(store: ParamStore, counts: readonly number[]): boolean {
  const n = counts.reduce((a, b) => a + b, 0);
  const used = counts.map((c, s) => [s, c / n] as const).filter(([, w]) => w > 0);
  const slots = used.map(([s]) => store.slot(s));
  const weights = used.map(([, w]) => w);
  const g = store.grad;
  let finite = true;
  for (let i = 0; i < g.length; i++) {
    let sum = 0;
    for (let k = 0; k < slots.length; k++) sum += weights[k] * slots[k][i];
    g[i] = sum;
    if (!Number.isFinite(sum)) finite = false;
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
