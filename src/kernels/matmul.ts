// Matrix product of two matrices (BatchMatMul with batch 1) on the WebAssembly GEMM:
// C[M, N] = op(A)[M, K] op(B)[K, N]. A is read through strides (so transposeA costs nothing);
// B is copied into a [K, N] row-major buffer, transposed and padded to a multiple of 4 columns.
import * as tf from '@tensorflow/tfjs-core';
import { Arena, kernels } from './wasm.js';
import { output, roundUp4, sizeOf, stock, transposeInto, values, type FastKernel, type KernelArgs } from './util.js';

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const ar = a.shape.length;
  const br = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || sizeOf(a.shape.slice(0, -2)) !== 1 || sizeOf(b.shape.slice(0, -2)) !== 1) {
    return stock('BatchMatMul', args) as tf.TensorInfo;
  }
  const M = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const K = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const N = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (K !== (transposeB ? b.shape[br - 1] : b.shape[br - 2])) return stock('BatchMatMul', args) as tf.TensorInfo; // let tfjs report it
  const nPad = roundUp4(N);
  const arena = new Arena();
  const ap = arena.put(values(args, a));
  let bp: number;
  if (transposeB) {
    bp = arena.alloc(K * nPad);
    const B = arena.f32(bp, K * nPad);
    B.fill(0);
    transposeInto(values(args, b), N, K, B, nPad);
  } else bp = arena.putRows(values(args, b), K, N, nPad);
  const cp = arena.alloc(M * nPad);
  kernels().gemm(M, nPad, K, ap, transposeA ? 1 : K, transposeA ? M : 1, bp, nPad, cp, nPad);
  const c = arena.take(cp, M, N, nPad);
  const outer = (ar > 2 ? a.shape.slice(0, -2) : br > 2 ? b.shape.slice(0, -2) : []) as number[];
  return output(args, [...outer.map(() => 1), M, N], c);
}

export const MATMUL_KERNELS: FastKernel[] = [{ kernelName: 'BatchMatMul', kernelFunc: batchMatMul }];
