// Convolution kernels for NHWC input, HWIO filters, stride 1, no padding, no dilation (what
// LeNet-5 uses), as im2col + SIMD GEMM in WebAssembly. Other cases fall back to the stock kernels.
//
// With P = n oh ow output pixels, K = kh kw c patch length, O output channels:
//   forward         y[P, O]     = cols[P, K] W[K, O]            (W is the HWIO filter, flat)
//   filter grad     dW[K, O]    = cols[P, K]^T dy[P, O]
//   input grad      dcols[P, K] = dy[P, O] W[K, O]^T,  dx = col2im(dcols)
// The GEMM vectorises along its N dimension, which must be a multiple of 4: O and K are padded
// (with zero columns) when they are not, and the padding is dropped from the results.
// One input channel (C1) takes a direct path instead (conv1Planar, conv1Filter): there im2col
// would write 25 floats per output pixel, several MB a step, for a tiny GEMM.
import * as tf from '@tensorflow/tfjs-core';
import { Arena, kernels } from './wasm.js';
import { output, roundUp4, stock, transposeInto, values, type FastKernel, type KernelArgs } from './util.js';

export type Conv2DAttrs = { strides: number | [number, number]; pad: unknown; dataFormat: string; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** The sizes of a convolution this file handles (stride 1, no padding, no dilation), or null. */
export interface Geometry {
  n: number; h: number; w: number; c: number; kh: number; kw: number; o: number;
  P: number; // output pixels n oh ow
  K: number; // patch length kh kw c
  outShape: number[];
  direct: boolean; // one input channel and a row width (multiple of 4) the SIMD direct kernels take
  directFilter: boolean; // ...and a filter at most 5 wide, for conv1Filter's five sums
}

export function geometry(xShape: number[], filterShape: number[], attrs: Conv2DAttrs): Geometry | null {
  if (attrs.dataFormat !== 'NHWC') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode,
  );
  const p = info.padInfo;
  const simple =
    info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1 &&
    p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 && info.outHeight > 0 && info.outWidth > 0;
  if (!simple) return null;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, filterHeight: kh, filterWidth: kw, outChannels: o } = info;
  return {
    n, h, w, c, kh, kw, o,
    P: n * info.outHeight * info.outWidth,
    K: kh * kw * c,
    outShape: info.outShape,
    direct: c === 1 && info.outWidth % 4 === 0,
    directFilter: c === 1 && info.outWidth % 4 === 0 && kw <= 5,
  };
}

/**
 * y[P, ld] = cols(x) W for an HWIO filter W [K, O]: by the direct one-channel kernels (ld = O) or
 * im2col + GEMM (ld = O rounded up to 4, zero columns past O). Returns y's pointer and ld.
 */
export function convProduct(arena: Arena, g: Geometry, xv: Float32Array, hwio: Float32Array): { yp: number; ld: number } {
  const { n, h, w, c, kh, kw, o, P, K } = g;
  const wk = kernels();
  const xp = arena.put(xv);
  if (g.direct) {
    const fp = arena.put(hwio);
    const planar = arena.alloc(P * o);
    const yp = arena.alloc(P * o);
    wk.conv1Planar(xp, n, h, w, fp, kh, kw, o, planar);
    wk.interleave(planar, P, o, yp, 0);
    return { yp, ld: o };
  }
  const ld = roundUp4(o);
  const cols = arena.alloc(P * K);
  const wp = arena.putRows(hwio, K, o, ld);
  const yp = arena.alloc(P * ld);
  wk.im2col(xp, n, h, w, c, kh, kw, cols, K);
  wk.gemm(P, ld, K, cols, K, 1, wp, ld, yp, ld);
  return { yp, ld };
}

/** The row stride filterGradient needs of dy: unpadded for the direct kernel, else a multiple of 4. */
export const gradientLd = (g: Geometry) => (g.directFilter ? g.o : roundUp4(g.o));

/** dW[K, ld] = cols(x)^T dy for dy [P, ld] (ld = gradientLd(g)); returns dW's pointer. */
export function filterGradient(arena: Arena, g: Geometry, xv: Float32Array, dyp: number): number {
  const { n, h, w, c, kh, kw, o, P, K } = g;
  const ld = gradientLd(g);
  const wk = kernels();
  const dwp = arena.alloc(K * ld);
  if (g.directFilter) {
    // With kw < 5 conv1Filter reads up to 4 floats past the end of x (for sums it drops): slack.
    const xp = arena.putWithSlack(xv, 4);
    const planar = arena.alloc(P * o);
    wk.interleave(planar, P, o, dyp, 1);
    wk.conv1Filter(xp, n, h, w, planar, kh, kw, o, dwp);
    return dwp;
  }
  const xp = arena.put(xv);
  const cols = arena.alloc(P * K);
  wk.im2col(xp, n, h, w, c, kh, kw, cols, K);
  // A = cols^T: element (k, p) at cols + 4 (p K + k), i.e. row stride 1, column stride K.
  wk.gemm(K, ld, P, cols, 1, K, dyp, ld, dwp, ld);
  return dwp;
}

/** dx[n, h, w, c] = col2im(dy W^T) for dy [P, ldy] and an HWIO filter W [K, O]; returns dx's pointer. */
export function inputGradient(arena: Arena, g: Geometry, dyp: number, ldy: number, hwio: Float32Array): number {
  const { n, h, w, c, kh, kw, o, P, K } = g;
  const kPad = roundUp4(K);
  const wtp = arena.alloc(o * kPad);
  const dcols = arena.alloc(P * kPad);
  const dxp = arena.alloc(n * h * w * c);
  const Wt = arena.f32(wtp, o * kPad);
  Wt.fill(0);
  transposeInto(hwio, K, o, Wt, kPad); // W[K, O] -> W^T[O, kPad]
  const wk = kernels();
  wk.gemm(P, kPad, o, dyp, ldy, 1, wtp, kPad, dcols, kPad);
  wk.col2im(dcols, kPad, n, h, w, c, kh, kw, dxp);
  return dxp;
}

function conv2D(args: KernelArgs): tf.TensorInfo {
  const { x, filter } = args.inputs;
  const g = x.dtype === 'float32' && geometry(x.shape, filter.shape, args.attrs as Conv2DAttrs);
  if (!g) return stock('Conv2D', args) as tf.TensorInfo;
  const arena = new Arena();
  const { yp, ld } = convProduct(arena, g, values(args, x), values(args, filter));
  return output(args, g.outShape, arena.take(yp, g.P, g.o, ld));
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as Conv2DAttrs & { filterShape: number[] };
  const g = x.dtype === 'float32' && geometry(x.shape, attrs.filterShape, { ...attrs, dilations: 1 });
  if (!g) return stock('Conv2DBackpropFilter', args) as tf.TensorInfo;
  const ld = gradientLd(g);
  const arena = new Arena();
  const dyp = arena.putRows(values(args, dy), g.P, g.o, ld);
  const dwp = filterGradient(arena, g, values(args, x), dyp);
  return output(args, attrs.filterShape, arena.take(dwp, g.K, g.o, ld));
}

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as Conv2DAttrs & { inputShape: number[] };
  const g = dy.dtype === 'float32' && geometry(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
  if (!g) return stock('Conv2DBackpropInput', args) as tf.TensorInfo;
  const size = g.n * g.h * g.w * g.c;
  const arena = new Arena();
  const dxp = inputGradient(arena, g, arena.put(values(args, dy)), g.o, values(args, filter));
  return output(args, attrs.inputShape, arena.take(dxp, 1, size, size));
}

export const CONV_KERNELS: FastKernel[] = [
  { kernelName: 'Conv2D', kernelFunc: conv2D },
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', kernelFunc: conv2DBackpropInput },
];
