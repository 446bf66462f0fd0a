// Pooling in WebAssembly (pool.as.ts), NHWC, with the gradients: average pooling without padding
// (any window and stride; 2x2 with stride 2, LeNet-5's S2 and S4, on a kernel of its own) and max
// pooling with any window, stride and padding. Padded average pooling goes to the stock kernels:
// tfjs divides a border window by its inputs inside the image, but its gradient by the full window.
// The kernels serve tfjs's own pooling kernels and the pooling layer ops (src/ops/pool2d.ts).
import * as tf from '@tensorflow/tfjs-core';
import { output, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { fieldsOf, putGeometry } from './conv-geometry.js';
import { Arena, kernels } from './wasm.js';
import { LAYER_AVG_POOL2D, LAYER_AVG_POOL2D_GRAD, LAYER_MAX_POOL2D, LAYER_MAX_POOL2D_GRAD, shapeOnly, stockPoolAttrs, type Pool2dAttrs } from '../ops/pool2d.js';

type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** tfjs's pooling info, remembered by shape and attributes as conv-geometry.ts remembers its geometries (read it, never change it). */
const known = new Map<string, tf.backend_util.Conv2DInfo>();
function poolInfo(xShape: number[], a: PoolAttrs): tf.backend_util.Conv2DInfo {
  const key = `${xShape}|${a.filterSize}|${a.strides}|${JSON.stringify(a.pad)}|${a.dimRoundingMode}`;
  let info = known.get(key);
  if (!info) {
    if (known.size >= 256) known.clear();
    info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad as 'valid', a.dimRoundingMode);
    known.set(key, info);
  }
  return info;
}

function pool2x2(xShape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo | null {
  const info = poolInfo(xShape, attrs);
  const p = info.padInfo;
  // The kernels write floor(h/2) x floor(w/2) outputs: 'ceil' or 'round' rounding of an odd size
  // asks for one more row or column, which only the stock kernel gives.
  const ok =
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 &&
    info.outHeight === info.inHeight >> 1 && info.outWidth === info.inWidth >> 1;
  return ok ? info : null;
}

/** Average pooling without padding (any window and stride): the stock kernels' arithmetic, in wasm. */
function unpadded(x: tf.TensorInfo, attrs: PoolAttrs): boolean {
  if (x.dtype !== 'float32') return false;
  const info = poolInfo(x.shape, attrs);
  const p = info.padInfo;
  // Every window inside the input ('ceil' rounding can ask for one that is not).
  const inside = (info.outHeight - 1) * info.strideHeight + info.filterHeight <= info.inHeight &&
    (info.outWidth - 1) * info.strideWidth + info.filterWidth <= info.inWidth;
  return p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 && info.outHeight > 0 && info.outWidth > 0 && inside;
}

function avgPool(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const info = x.dtype === 'float32' && pool2x2(x.shape, args.attrs as PoolAttrs);
  if (!info) {
    if (!unpadded(x, args.attrs as PoolAttrs)) return stock('AvgPool', args) as tf.TensorInfo;
    const { arena, info: general, geo, xp } = poolArena(args, x);
    const size = general.outShape.reduce((a, b) => a * b, 1);
    const outp = arena.alloc(size);
    kernels().avgPool(geo, xp, outp);
    return output(args, general.outShape, arena.take(outp, 1, size, size));
  }
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const arena = new Arena();
  const xp = arena.put(values(args, x));
  const outp = arena.alloc(n * oh * ow * c);
  kernels().avgPool2(xp, n, h, w, c, outp);
  return output(args, info.outShape, arena.take(outp, 1, n * oh * ow * c, n * oh * ow * c));
}

function avgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs;
  const info = dy.dtype === 'float32' && pool2x2(input.shape, args.attrs as PoolAttrs);
  if (!info) {
    if (dy.dtype !== 'float32' || !unpadded(input, args.attrs as PoolAttrs)) return stock('AvgPoolGrad', args) as tf.TensorInfo;
    const { arena, geo } = poolArena(args, input, false);
    const size = input.shape.reduce((a, b) => a * b, 1);
    const dyp = arena.put(values(args, dy));
    const dxp = arena.alloc(size);
    kernels().avgPoolGrad(geo, dyp, dxp);
    return output(args, [...input.shape], arena.take(dxp, 1, size, size));
  }
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const arena = new Arena();
  const dyp = arena.put(values(args, dy));
  const dxp = arena.alloc(n * h * w * c);
  kernels().avgPool2Grad(dyp, n, h, w, c, dxp);
  return output(args, [...input.shape], arena.take(dxp, 1, n * h * w * c, n * h * w * c));
}

/** An arena holding the pooling geometry of input x (as pool.as.ts reads it) and x itself (unless withX is false: 0). */
function poolArena(args: KernelArgs, x: tf.TensorInfo, withX = true) {
  const a = args.attrs as PoolAttrs;
  const info = poolInfo(x.shape, a);
  const arena = new Arena();
  const geo = putGeometry(arena, fieldsOf(info));
  return { arena, info, geo, xp: withX ? arena.put(values(args, x)) : 0 };
}

function maxPool(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype !== 'float32') return stock('MaxPool', args) as tf.TensorInfo;
  const { arena, info, geo, xp } = poolArena(args, x);
  const size = info.outShape.reduce((a, b) => a * b, 1);
  const outp = arena.alloc(size);
  kernels().maxPool(geo, xp, outp);
  return output(args, info.outShape, arena.take(outp, 1, size, size));
}

/** Inputs dy, input, output (tfjs's MaxPoolGrad); the maximum's position is found again from input. */
function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs;
  if (dy.dtype !== 'float32') return stock('MaxPoolGrad', args) as tf.TensorInfo;
  const { arena, geo, xp } = poolArena(args, input);
  const size = input.shape.reduce((a, b) => a * b, 1);
  const dyp = arena.put(values(args, dy));
  const dxp = arena.alloc(size);
  kernels().maxPoolGrad(geo, xp, dyp, dxp);
  return output(args, [...input.shape], arena.take(dxp, 1, size, size));
}

// The layer ops: the same kernels under tfjs's attribute names. Their gradients' inputs differ
// from tfjs's: the average's has only dy (the input's shape is an attribute), the maximum's dy
// and x (not the forward output: the maximum is found again from x).
const asStock = (args: KernelArgs, inputs: KernelArgs['inputs']): KernelArgs => ({ ...args, inputs, attrs: stockPoolAttrs(args.attrs as unknown as Pool2dAttrs) as unknown as KernelArgs['attrs'] });

function layerAvgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy } = args.inputs;
  const input = shapeOnly((args.attrs as unknown as Pool2dAttrs).inShape); // only its shape is read
  const a = asStock(args, { dy, input });
  if (dy.dtype !== 'float32' || !unpadded(input, a.attrs as PoolAttrs)) return stock(LAYER_AVG_POOL2D_GRAD, args) as tf.TensorInfo;
  return avgPoolGrad(a);
}

function layerMaxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs;
  if (dy.dtype !== 'float32') return stock(LAYER_MAX_POOL2D_GRAD, args) as tf.TensorInfo;
  return maxPoolGrad(asStock(args, { dy, input: x }));
}

export const POOL_KERNELS: FastKernel[] = [
  { kernelName: LAYER_AVG_POOL2D, kernelFunc: (args) => avgPool(asStock(args, args.inputs)) },
  { kernelName: LAYER_AVG_POOL2D_GRAD, kernelFunc: layerAvgPoolGrad },
  { kernelName: LAYER_MAX_POOL2D, kernelFunc: (args) => maxPool(asStock(args, args.inputs)) },
  { kernelName: LAYER_MAX_POOL2D_GRAD, kernelFunc: layerMaxPoolGrad },
  { kernelName: tf.AvgPool, kernelFunc: avgPool },
  { kernelName: tf.AvgPoolGrad, kernelFunc: avgPoolGrad },
  { kernelName: tf.MaxPool, kernelFunc: maxPool },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad },
];
