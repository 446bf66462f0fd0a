// Elementwise kernels on the WebAssembly SIMD code (elementwise.as.ts) for the shapes
// LeNet-5 produces. tfjs-backend-cpu's binary ops take a per-element index-conversion path whenever
// shapes differ (a scalar, a bias vector), and even flat JS loops cost ~1.8 ns a float32 value;
// the SIMD loops plus the copies in and out cost a fraction of that. Handled broadcasts:
//   same shape | b scalar | a scalar | b over the trailing dims of a (bias) | b over the leading
//   dims of a (a [16, 6, 5, 5] times a mask [16, 6, 1, 1], small, in JS).
// Anything else, and non-float32 dtypes, go to the stock kernel.
import * as tf from '@tensorflow/tfjs-core';
import { output, sizeOf, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { Arena, kernels } from './wasm.js';
import { take } from './buffers.js';
import { activationCode } from '../ops/activation.js';

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

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** out[i] = x[i] op y[i mod y.length] (or y op x when swap) in wasm; y is repeated to a multiple of 4 floats. */
function periodic(op: Op, x: Float32Array, y: Float32Array, swap: boolean): Float32Array {
  const n = x.length;
  const reps = y.length >= n ? 1 : 4 / gcd(y.length, 4);
  const arena = new Arena();
  const xp = arena.put(x);
  const yp = arena.alloc(y.length * reps);
  const outp = arena.alloc(n);
  const yy = arena.f32(yp, y.length * reps);
  for (let r = 0; r < reps; r++) yy.set(y, r * y.length);
  const k = kernels();
  const f = op === 'add' ? k.add : op === 'mul' ? k.mul : swap ? k.rsub : k.sub;
  f(xp, yp, y.length * reps, outp, n);
  return arena.take(outp, 1, n, n);
}

/** y repeats each value over `inner` consecutive outputs: small tensors only (the C3 mask), in JS. */
function leading(op: Op, x: Float32Array, y: Float32Array, inner: number, swap: boolean): Float32Array {
  const out = take(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = y[Math.floor(i / inner)];
    out[i] = op === 'add' ? x[i] + v : op === 'mul' ? x[i] * v : swap ? v - x[i] : x[i] - v;
  }
  return out;
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
      const x = values(args, big);
      const y = values(args, small);
      if (sameShape || sizeOf(small.shape) === 1) return output(args, [...big.shape], periodic(op, x, y, swap));
      const m = broadcastMode(big.shape, small.shape);
      if (!m) return stock(name, args);
      return output(args, [...big.shape], m.mode === 'trailing' ? periodic(op, x, y, swap) : leading(op, x, y, m.inner, swap));
    },
  };
}

function unary(name: string, f: (x: Float32Array) => Float32Array): FastKernel {
  return {
    kernelName: name,
    kernelFunc: (args: KernelArgs) => {
      const { x } = args.inputs;
      if (x.dtype !== 'float32') return stock(name, args);
      return output(args, [...x.shape], f(values(args, x)));
    },
  };
}

/** One wasm pass over x into a new array of its length; `run` may put further inputs in the arena. */
function pass(x: Float32Array, run: (xp: number, outp: number, n: number, arena: Arena) => void): Float32Array {
  const arena = new Arena();
  const n = x.length;
  const xp = arena.put(x);
  const outp = arena.alloc(n);
  run(xp, outp, n, arena);
  return arena.take(outp, 1, n, n);
}

/**
 * The gradient of tanh from its output, (1 - y^2) dy, as one kernel. Registered on the fast
 * backend only; backend.ts routes tanh's gradient here there (registerTanhGradient).
 */
export const TANH_GRAD = 'Lenet5TanhGrad';

function tanhGradKernel(args: KernelArgs): tf.TensorInfo {
  const { dy, y } = args.inputs;
  if (dy.dtype !== 'float32' || y.dtype !== 'float32' || sizeOf(dy.shape) !== sizeOf(y.shape)) {
    throw new Error(`${TANH_GRAD} needs float32 dy and y of one size, got ${dy.dtype} [${dy.shape}] and ${y.dtype} [${y.shape}]`);
  }
  const g = values(args, dy);
  const out = pass(values(args, y), (yp, outp, n, arena) => kernels().tanhGrad(arena.put(g), yp, outp, n));
  return output(args, [...y.shape], out);
}

function stepKernel(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype !== 'float32') return stock(tf.Step, args) as tf.TensorInfo;
  const alpha = (args.attrs as { alpha?: number }).alpha ?? 0;
  return output(args, [...x.shape], pass(values(args, x), (xp, outp, n) => kernels().step(xp, outp, n, alpha)));
}

export const ELEMENTWISE_KERNELS: FastKernel[] = [
  binary(tf.Add, 'add'),
  binary(tf.Sub, 'sub'),
  binary(tf.Multiply, 'mul'),
  // V8's Math.tanh costs ~20 ns a value; the SIMD kernel (activation.as.ts) well under 1 ns.
  unary(tf.Tanh, (x) => pass(x, (xp, outp, n) => kernels().tanh(xp, outp, n))),
  unary(tf.Square, (x) => pass(x, (xp, outp, n) => kernels().square(xp, outp, n))),
  unary(tf.Relu, (x) => pass(x, (xp, outp, n) => kernels().activate(xp, outp, n, activationCode('relu')))),
  unary(tf.Sigmoid, (x) => pass(x, (xp, outp, n) => kernels().activate(xp, outp, n, activationCode('sigmoid')))),
  { kernelName: tf.Step, kernelFunc: stepKernel }, // relu's gradient is dy step(x)
  { kernelName: TANH_GRAD, kernelFunc: tanhGradKernel },
];
