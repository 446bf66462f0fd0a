// Elementwise kernels in plain JS for the shapes LeNet-5 produces. tfjs-backend-cpu's binary ops
// take a per-element index-conversion path whenever shapes differ (a scalar, a bias vector), which
// made them a visible share of a step; these handle those broadcasts with flat loops:
//   same shape | b scalar | a scalar | b over the trailing dims of a (bias) | b over the leading
//   dims of a (a [16, 6, 5, 5] times a mask [16, 6, 1, 1]).
// Anything else, and non-float32 dtypes, go to the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { output, sizeOf, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { Arena, kernels } from './wasm.js';
import { take } from './buffers.js';

type Op = 'add' | 'sub' | 'mul';

/** How b's shape relates to a's (a being the larger): returns a mode and the repeat length. */
function broadcastMode(big: readonly number[], small: readonly number[]): { mode: 'trailing' | 'leading'; inner: number } | null {
  const s = small.slice(small.findIndex((d) => d !== 1) === -1 ? small.length : small.findIndex((d) => d !== 1));
  // trailing: small (without leading 1s) equals big's last dims
  if (s.length <= big.length && s.every((d, i) => d === big[big.length - s.length + i])) return { mode: 'trailing', inner: sizeOf(s) };
  // leading: small = big's first k dims followed by 1s, same rank
  if (small.length === big.length) {
    let k = small.length;
    while (k > 0 && small[k - 1] === 1) k--;
    if (small.slice(0, k).every((d, i) => d === big[i])) return { mode: 'leading', inner: sizeOf(big.slice(k)) };
  }
  return null;
}

function apply(op: Op, x: Float32Array, y: Float32Array, out: Float32Array, yMode: 'same' | 'scalar' | 'trailing' | 'leading', inner: number, swap: boolean): void {
  // out[i] = x[i] op y[...], or y op x when swap (x is the larger operand throughout).
  const n = out.length;
  if (yMode === 'same' || yMode === 'scalar') {
    const s = y[0];
    const same = yMode === 'same';
    if (op === 'add') for (let i = 0; i < n; i++) out[i] = x[i] + (same ? y[i] : s);
    else if (op === 'mul') for (let i = 0; i < n; i++) out[i] = x[i] * (same ? y[i] : s);
    else if (!swap) for (let i = 0; i < n; i++) out[i] = x[i] - (same ? y[i] : s);
    else for (let i = 0; i < n; i++) out[i] = (same ? y[i] : s) - x[i];
    return;
  }
  if (yMode === 'trailing') {
    for (let base = 0; base < n; base += inner) {
      if (op === 'add') for (let j = 0; j < inner; j++) out[base + j] = x[base + j] + y[j];
      else if (op === 'mul') for (let j = 0; j < inner; j++) out[base + j] = x[base + j] * y[j];
      else if (!swap) for (let j = 0; j < inner; j++) out[base + j] = x[base + j] - y[j];
      else for (let j = 0; j < inner; j++) out[base + j] = y[j] - x[base + j];
    }
    return;
  }
  // leading: y repeats each value over `inner` consecutive outputs
  for (let i = 0; i < n; i++) {
    const v = y[Math.floor(i / inner)];
    out[i] = op === 'add' ? x[i] + v : op === 'mul' ? x[i] * v : swap ? v - x[i] : x[i] - v;
  }
}

function binary(name: string, op: Op): FastKernel {
  return {
    kernelName: name,
    kernelFunc: (args: KernelArgs) => {
      const { a, b } = args.inputs;
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(name, args);
      const as = sizeOf(a.shape);
      const bs = sizeOf(b.shape);
      const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
      const swap = bs > as || (bs === as && !sameShape && as === 1);
      const [big, small] = swap ? [b, a] : [a, b];
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      if (outShape.length !== big.shape.length || outShape.some((d, i) => d !== big.shape[i])) return stock(name, args);
      let mode: 'same' | 'scalar' | 'trailing' | 'leading';
      let inner = 1;
      if (sameShape) mode = 'same';
      else if (sizeOf(small.shape) === 1 && small.shape.length <= big.shape.length) mode = 'scalar';
      else {
        const m = broadcastMode(big.shape, small.shape);
        if (!m) return stock(name, args);
        ({ mode, inner } = m);
      }
      const out = take(sizeOf(big.shape));
      apply(op, values(args, big), values(args, small), out, mode, inner, swap);
      return output(args, [...big.shape], out);
    },
  };
}

function unary(name: string, f: (x: Float32Array, out: Float32Array) => void): FastKernel {
  return {
    kernelName: name,
    kernelFunc: (args: KernelArgs) => {
      const { x } = args.inputs;
      if (x.dtype !== 'float32') return stock(name, args);
      const v = values(args, x);
      const out = take(v.length);
      f(v, out);
      return output(args, [...x.shape], out);
    },
  };
}

export const ELEMENTWISE_KERNELS: FastKernel[] = [
  binary(tf.Add, 'add'),
  binary(tf.Sub, 'sub'),
  binary(tf.Multiply, 'mul'),
  // V8's Math.tanh costs ~20 ns a value; the SIMD kernel (assembly/kernels.ts) well under 1 ns.
  unary(tf.Tanh, (x, out) => {
    const arena = new Arena();
    const xp = arena.put(x);
    const yp = arena.alloc(x.length);
    kernels().tanh(xp, yp, x.length);
    out.set(arena.f32(yp, x.length));
  }),
  unary(tf.Square, (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * x[i];
  }),
];
