// The directional-derivative check both gradient tests use: for each trainable tensor t, move its
// weights by +-h along u = g_t / |g_t| and compare the central difference quotient of the loss,
// (L(w + h u) - L(w - h u)) / 2h, with |g_t| (what the gradient says the slope along u is).
import type { ParamStore } from '../../src/params.js';

export interface DirectionalCheck {
  readonly name: string;
  /** |g_t| */
  readonly norm: number;
  /** The central difference quotient along g_t / |g_t|. */
  readonly fd: number;
}

/** `loss()` reads the store's weights; they are restored after each tensor. */
export function directionalChecks(store: ParamStore, g: Float32Array, loss: () => number, h: number): DirectionalCheck[] {
  return store.layout.tensors
    .filter((t) => t.trainable)
    .map((t) => {
      const gt = g.subarray(t.offset, t.offset + t.size);
      const norm = Math.sqrt(gt.reduce((a, v) => a + v * v, 0));
      const w = store.view(store.weights, t.name);
      const w0 = w.slice();
      for (let i = 0; i < w.length; i++) w[i] = w0[i] + (h * gt[i]) / norm;
      const plus = loss();
      for (let i = 0; i < w.length; i++) w[i] = w0[i] - (h * gt[i]) / norm;
      const minus = loss();
      w.set(w0);
      return { name: t.name, norm, fd: (plus - minus) / (2 * h) };
    });
}
