// An independent float64 LeNet-5 in plain loops (no tfjs), from the paper's description: used to
// check tfjs's forward pass and, by central differences in float64, its gradients.
// Weights come in the checkpoint layout (PyTorch: conv OIHW, dense [out, in]); inputs [n, 32, 32].

export type Weights = Record<string, Float64Array>;

const f = (a: number) => 1.7159 * Math.tanh((2 * a) / 3);

function conv(x: Float64Array, c: number, h: number, w: Float64Array, b: Float64Array, o: number, mask?: Float64Array): Float64Array {
  // x [c, h, h] -> [o, h-4, h-4], 5x5 valid, then f
  const oh = h - 4;
  const y = new Float64Array(o * oh * oh);
  for (let k = 0; k < o; k++)
    for (let r = 0; r < oh; r++)
      for (let s = 0; s < oh; s++) {
        let a = b[k];
        for (let i = 0; i < c; i++) {
          if (mask && mask[k * c + i] === 0) continue;
          for (let u = 0; u < 5; u++)
            for (let v = 0; v < 5; v++) a += w[((k * c + i) * 5 + u) * 5 + v] * x[(i * h + r + u) * h + s + v];
        }
        y[(k * oh + r) * oh + s] = f(a);
      }
  return y;
}

function pool(x: Float64Array, c: number, h: number): Float64Array {
  const oh = h / 2;
  const y = new Float64Array(c * oh * oh);
  for (let k = 0; k < c; k++)
    for (let r = 0; r < oh; r++)
      for (let s = 0; s < oh; s++) {
        const at = (u: number, v: number) => x[(k * h + 2 * r + u) * h + 2 * s + v];
        y[(k * oh + r) * oh + s] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
      }
  return y;
}

function dense(x: Float64Array, w: Float64Array, b: Float64Array, out: number, squash: boolean): Float64Array {
  const y = new Float64Array(out);
  for (let k = 0; k < out; k++) {
    let a = b[k];
    for (let i = 0; i < x.length; i++) a += w[k * x.length + i] * x[i];
    y[k] = squash ? f(a) : a;
  }
  return y;
}

/** Mean loss over the samples, in float64. */
export function referenceLoss(model: 'lenet5' | 'lenet5-softmax', p: Weights, inputs: Float32Array, labels: number[], j = 0.1): number {
  let total = 0;
  for (let s = 0; s < labels.length; s++) {
    const x = Float64Array.from(inputs.subarray(s * 1024, (s + 1) * 1024));
    const c1 = conv(x, 1, 32, p['c1.weight'], p['c1.bias'], 6);
    const s2 = pool(c1, 6, 28);
    const c3 = conv(s2, 6, 14, p['c3.weight'], p['c3.bias'], 16, p['c3.mask']);
    const s4 = pool(c3, 16, 10);
    const c5 = conv(s4, 16, 5, p['c5.weight'], p['c5.bias'], 120);
    const f6 = dense(c5, p['f6.weight'], p['f6.bias'], 84, true);
    if (model === 'lenet5-softmax') {
      const z = dense(f6, p['out.weight'], p['out.bias'], 10, false);
      const m = Math.max(...z);
      total += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[labels[s]];
    } else {
      const y = Array.from({ length: 10 }, (_, i) => f6.reduce((a, v, k) => a + (v - p['rbf.centers'][i * 84 + k]) ** 2, 0));
      total += y[labels[s]] + Math.log(Math.exp(-j) + y.reduce((a, v) => a + Math.exp(-v), 0));
    }
  }
  return total / labels.length;
}
