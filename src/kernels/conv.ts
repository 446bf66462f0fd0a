// The stock-named convolution kernels (Conv2D and its two gradients, what tf.conv2d runs) on the
// WebAssembly kernels of conv.as.ts: NHWC, any kernel size, strides and padding. Dilated or
// NCHW convolutions go to the stock kernels. The conv2d layer op (layer-conv2d.ts) shares the
// three products below.
//
// With P = n oh ow output pixels, K = kh kw c, O output channels, W the HWIO filter as [K, O]:
//   forward      y[P, O]  = cols[P, K] W[K, O]
//   filter grad  dW[K, O] = cols^T dy
//   input grad   dx       = col2im(dy W^T)
// The GEMM vectorises along its N dimension, which must be a multiple of 4: O and K are padded
// (with zero columns) to ld and kPad, and the padding is dropped from the results.
import * as tf from '@tensorflow/tfjs-core';
import { geometry, outputLd, putGeometry, scratchFloats, type Conv2DAttrs, type Geometry } from './conv-geometry.js';
import { output, roundUp4, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { Arena, kernels } from './wasm.js';

/** The geometry block and the patch-row scratch the blocked kernels (conv.as.ts) take. */
function blocked(arena: Arena, g: Readonly<Geometry>): { geo: number; scratch: number } {
  return { geo: putGeometry(arena, g), scratch: arena.alloc(scratchFloats(g)) };
}

/** y [P, ld] = cols(x) W for W [K, ldw] at wp, ld = outputLd(g), ldw >= ld; returns y's pointer. */
export function convProduct(arena: Arena, g: Readonly<Geometry>, xp: number, wp: number, ldw: number): number {
  const ld = outputLd(g);
  if (g.direct) {
    const yp = arena.alloc(g.P * ld);
    const panel = arena.alloc(kernels().conv1PanelFloats() * g.kh * g.kw);
    kernels().conv1Forward(xp, g.n, g.h, g.w, wp, ldw, g.kh, g.kw, g.o, yp, ld, panel);
    return yp;
  }
  if (ldw !== ld) throw new Error(`convProduct: the GEMM needs W's row stride ${ld}, got ${ldw}`);
  const { geo, scratch } = blocked(arena, g);
  const yp = arena.alloc(g.P * ld);
  kernels().convForward(geo, xp, wp, ld, yp, scratch);
  return yp;
}

/**
 * dW [K, ld] = cols(x)^T dy for dy [P, ld] (ld = outputLd(g), zero past O); returns dW's pointer.
 * x at xp must be followed by 4 floats of slack (putX).
 */
export function filterGradient(arena: Arena, g: Readonly<Geometry>, xp: number, dyp: number): number {
  const ld = outputLd(g);
  if (g.direct) {
    const planar = arena.alloc(g.P * g.o);
    kernels().toPlanar(dyp, g.P, g.o, ld, planar);
    return planarFilterGradient(arena, g, xp, planar);
  }
  const { geo, scratch } = blocked(arena, g);
  const dwp = arena.alloc(g.K * ld);
  kernels().convFilterGrad(geo, xp, dyp, ld, dwp, scratch);
  return dwp;
}

/**
 * The direct kernels' dW [K, o] = cols(x)^T dy for dy as planes [o][P] (toPlanar's layout), with
 * row stride o (= outputLd(g): the direct kernels pad nothing); returns dW's pointer. x at xp must
 * be followed by 4 floats of slack (putX).
 */
export function planarFilterGradient(arena: Arena, g: Readonly<Geometry>, xp: number, planar: number): number {
  if (!g.direct) throw new Error('planarFilterGradient: the geometry does not take the direct kernels');
  const dwp = arena.alloc(g.K * g.o);
  kernels().conv1Filter(xp, g.n, g.h, g.w, planar, g.kh, g.kw, g.o, dwp, g.o);
  return dwp;
}

/** dx [n, h, w, c] = col2im(dy Wt) for dy [P, ld] (any ld >= O) and Wt [O, roundUp4(K)] at wtp; returns dx's pointer. */
export function inputGradient(arena: Arena, g: Readonly<Geometry>, dyp: number, ld: number, wtp: number): number {
  const { geo, scratch } = blocked(arena, g);
  const dxp = arena.alloc(g.n * g.h * g.w * g.c);
  kernels().convInputGrad(geo, dyp, ld, g.o, wtp, roundUp4(g.K), dxp, scratch);
  return dxp;
}

/** Copies x in with the 4 floats of zero slack conv1Filter reads past its end (when kw < 5). */
export function putX(arena: Arena, x: Float32Array): number {
  const ptr = arena.alloc(x.length + 4);
  const dst = arena.f32(ptr, x.length + 4);
  dst.set(x);
  dst.fill(0, x.length);
  return ptr;
}

function conv2D(args: KernelArgs): tf.TensorInfo {
  const { x, filter } = args.inputs;
  const g = x.dtype === 'float32' && geometry(x.shape, filter.shape, args.attrs as Conv2DAttrs);
  if (!g) return stock('Conv2D', args) as tf.TensorInfo;
  const ld = outputLd(g);
  const arena = new Arena();
  const xp = arena.put(values(args, x));
  const wp = arena.putRows(values(args, filter), g.K, g.o, ld);
  const yp = convProduct(arena, g, xp, wp, ld);
  return output(args, g.outShape, arena.take(yp, g.P, g.o, ld));
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as Conv2DAttrs & { filterShape: number[] };
  const g = x.dtype === 'float32' && geometry(x.shape, attrs.filterShape, { ...attrs, dilations: 1 });
  if (!g) return stock('Conv2DBackpropFilter', args) as tf.TensorInfo;
  const ld = outputLd(g);
  const arena = new Arena();
  const dyp = arena.putRows(values(args, dy), g.P, g.o, ld);
  const dwp = filterGradient(arena, g, putX(arena, values(args, x)), dyp);
  return output(args, attrs.filterShape, arena.take(dwp, g.K, g.o, ld));
}

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as Conv2DAttrs & { inputShape: number[] };
  const g = dy.dtype === 'float32' && geometry(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 });
  if (!g) return stock('Conv2DBackpropInput', args) as tf.TensorInfo;
  const kPad = roundUp4(g.K);
  const size = g.n * g.h * g.w * g.c;
  const arena = new Arena();
  const dyp = arena.put(values(args, dy));
  const wtp = arena.alloc(g.o * kPad);
  arena.f32(wtp, g.o * kPad).fill(0); // the columns past K stay 0
  kernels().transpose(arena.put(values(args, filter)), g.K, g.o, g.o, wtp, kPad, 1); // W[K, O] -> W^T[O, kPad]
  const dxp = inputGradient(arena, g, dyp, g.o, wtp);
  return output(args, attrs.inputShape, arena.take(dxp, 1, size, size));
}

export const CONV_KERNELS: FastKernel[] = [
  { kernelName: 'Conv2D', kernelFunc: conv2D },
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', kernelFunc: conv2DBackpropInput },
];
