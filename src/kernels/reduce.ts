// Sum (in WebAssembly, reduce.as.ts) and Transpose (plain JS). The stock Sum first
// transposes the reduced axes to the end with a per-element index conversion; LeNet-5 only sums
// over leading axes (bias gradients: [n, h, w, c] -> [c]) or trailing ones (row sums), which are
// flat loops. Sums accumulate in float64.
import * as tf from '@tensorflow/tfjs-core';
import { output, sizeOf, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { take } from './buffers.js';
import { Arena, kernels } from './wasm.js';

function sum(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as { axis: number | number[] | null; keepDims: boolean };
  if (x.dtype !== 'float32') return stock('Sum', args) as tf.TensorInfo;
  const rank = x.shape.length;
  const asked = axis == null ? x.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis]; // null: every axis (tf.sum(x))
  const axes = [...new Set(asked.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  const k = axes.length;
  const leading = axes.every((a, i) => a === i);
  const trailing = axes.every((a, i) => a === rank - k + i);
  if (k === 0 || !(leading || trailing)) return stock('Sum', args) as tf.TensorInfo;
  const v = values(args, x);
  const kept = x.shape.filter((_, i) => !axes.includes(i));
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
  const outer = leading ? sizeOf(x.shape.slice(0, k)) : sizeOf(kept);
  const inner = leading ? sizeOf(kept) : sizeOf(x.shape.slice(rank - k));
  const arena = new Arena();
  const xp = arena.put(v);
  const outp = arena.alloc(leading ? inner : outer);
  if (leading) kernels().sumRows(xp, outer, inner, outp);
  else kernels().sumCols(xp, outer, inner, outp);
  const out = arena.take(outp, 1, leading ? inner : outer, leading ? inner : outer);
  return output(args, shape, out);
}

/** out (row-major over d0..d3) gathers v at a s0 + b s1 + c s2 + d s3; scalar arguments keep the loop monomorphic. */
function permute4(v: Float32Array, out: Float32Array, d0: number, d1: number, d2: number, d3: number, s0: number, s1: number, s2: number, s3: number): void {
  let o = 0;
  for (let a = 0; a < d0; a++)
    for (let b = 0; b < d1; b++)
      for (let c = 0; c < d2; c++) {
        let i = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < d3; d++, i += s3) out[o++] = v[i];
      }
}

/** out[o_0, .., o_{r-1}] = x[i] with i_perm[k] = o_k; up to rank 4 (padded with leading 1s). */
function transpose(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const { perm } = args.attrs as { perm: number[] };
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank > 4) return stock('Transpose', args) as tf.TensorInfo;
  const v = values(args, x);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= x.shape[i];
  }
  const pad = 4 - rank;
  const dims = [...new Array<number>(pad).fill(1), ...perm.map((p) => x.shape[p])];
  const st = [...new Array<number>(pad).fill(0), ...perm.map((p) => inStrides[p])];
  const out = take(v.length);
  permute4(v, out, dims[0], dims[1], dims[2], dims[3], st[0], st[1], st[2], st[3]);
  return output(args, perm.map((p) => x.shape[p]), out);
}

export const REDUCE_KERNELS: FastKernel[] = [
  { kernelName: tf.Sum, kernelFunc: sum },
  { kernelName: tf.Transpose, kernelFunc: transpose },
];
