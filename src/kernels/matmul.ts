// Matrix product of two matrices (BatchMatMul with batch 1) on the WebAssembly GEMM:
// C[M, N] = op(A)[M, K] op(B)[K, N]. A is read through strides (so transposeA costs nothing);
// B is copied into a [K, N] row-major buffer, transposed and padded to a multiple of 4 columns
// (or, for A B^T with B the larger, C^T = B A^T is computed instead, see viaTransposedProduct).
import * as tf from '@tensorflow/tfjs-core';
import { Arena, kernels } from './wasm.js';
import { output, roundUp4, sizeOf, stock, values, type FastKernel, type KernelArgs } from './util.js';

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
  const c = !transposeA && transposeB && M * K + M * N < N * K ? viaTransposedProduct(args, M, K, N) : direct(args, M, K, N, transposeA, transposeB);
  const outer = (ar > 2 ? a.shape.slice(0, -2) : br > 2 ? b.shape.slice(0, -2) : []) as number[];
  return output(args, [...outer.map(() => 1), M, N], c);
}

/** C = op(A) op(B), with B made row-major [K, N] (transposed if need be) for the GEMM. */
function direct(args: KernelArgs, M: number, K: number, N: number, transposeA: boolean, transposeB: boolean): Float32Array {
  const { a, b } = args.inputs;
  const nPad = roundUp4(N);
  const arena = new Arena();
  const ap = arena.put(values(args, a));
  let bp: number;
  if (transposeB) {
    bp = arena.alloc(K * nPad);
    arena.f32(bp, K * nPad).fill(0); // the columns past N stay 0
    kernels().transpose(arena.put(values(args, b)), N, K, K, bp, nPad, 1);
  } else bp = arena.putRows(values(args, b), K, N, nPad);
  const cp = arena.alloc(M * nPad);
  kernels().gemm(M, nPad, K, ap, transposeA ? 1 : K, transposeA ? M : 1, bp, nPad, cp, nPad);
  return arena.take(cp, M, N, nPad);
}

/**
 * C = A B^T computed as C^T = B A^T, which transposes A [M, K] and C^T [N, M] instead of B
 * [N, K]: for a layer's forward pass x W^T that moves the batch's values, not the weights
 * (C5: 32 x 400 + 32 x 120 floats instead of 120 x 400).
 */
function viaTransposedProduct(args: KernelArgs, M: number, K: number, N: number): Float32Array {
  const { a, b } = args.inputs;
  const mPad = roundUp4(M);
  const arena = new Arena();
  const bp = arena.put(values(args, b)); // [N, K] row-major: the GEMM's strided left operand
  const atp = arena.alloc(K * mPad);
  const ctp = arena.alloc(N * mPad);
  const wk = kernels();
  arena.f32(atp, K * mPad).fill(0); // the columns past M stay 0
  wk.transpose(arena.put(values(args, a)), M, K, K, atp, mPad, 1);
  wk.gemm(N, mPad, K, bp, K, 1, atp, mPad, ctp, mPad);
  const cp = arena.alloc(M * N);
  wk.transpose(ctp, N, M, mPad, cp, N, 1); // C^T [N, mPad] -> C [M, N]
  return arena.take(cp, 1, M * N, M * N);
}

export const MATMUL_KERNELS: FastKernel[] = [{ kernelName: 'BatchMatMul', kernelFunc: batchMatMul }];
