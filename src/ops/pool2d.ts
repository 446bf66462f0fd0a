// avgPool2d and maxPool2d, the pooling layer ops: one tfjs kernel forward and one backward each
// (tf.avgPool adds a Cast to its output, and its gradient a clone of the input it saves; these
// save nothing they do not need: average pooling only the input's shape, in its attributes).
//
// Shapes: x [n, h, w, c] (NHWC) -> y [n, oh, ow, c], windows of kh x kw every sh rows and sw
// columns; 'valid': oh = floor((h - kh) / sh) + 1; 'same' (max pooling only): oh = ceil(h / sh),
// windows placed as tfjs and TensorFlow place them (the extra row or column past the image at the
// bottom and right), each window's maximum taken over its entries inside the image.
//
// Kernels: the portable definition below (tfjs's stock pooling kernels on its `cpu` backend) and
// the WebAssembly one (src/kernels/pool.ts) on the fast backend.
import * as tf from '@tensorflow/tfjs-core';
import { stockKernel, type Args } from './layer-kernel.js';
import type { Pool2dOptions } from './options.js';

export type { Pool2dOptions };

export const LAYER_AVG_POOL2D = 'LayerAvgPool2D';
export const LAYER_AVG_POOL2D_GRAD = 'LayerAvgPool2DGrad';
export const LAYER_MAX_POOL2D = 'LayerMaxPool2D';
export const LAYER_MAX_POOL2D_GRAD = 'LayerMaxPool2DGrad';

/** The kernels' attributes: tfjs's pooling attributes, and the input's shape (the average's gradient needs nothing else). */
export interface Pool2dAttrs {
  filterSize: [number, number];
  strides: [number, number];
  pad: 'valid' | 'same';
  inShape: [number, number, number, number];
  [key: string]: unknown;
}

const pair = (v: number | [number, number], what: string, op: string): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v?.[0], v?.[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) throw new TypeError(`${op}: ${what} must be a positive integer or two of them, got ${JSON.stringify(v)}`);
  return p;
};

function pool(kernel: string, op: string, x: tf.Tensor4D, size: number | [number, number], o: Pool2dOptions, paddings: readonly string[]): tf.Tensor4D {
  if (x.rank !== 4) throw new TypeError(`${op}: x must be [n, h, w, c], got [${x.shape}]`);
  const filterSize = pair(size, 'size', op);
  const strides = o.stride === undefined ? filterSize : pair(o.stride, 'stride', op);
  const pad = o.padding ?? 'valid';
  if (!paddings.includes(pad)) throw new TypeError(`${op}: padding must be ${paddings.map((p) => `'${p}'`).join(' or ')}, got ${JSON.stringify(pad)}`);
  if (pad === 'valid' && (x.shape[1] < filterSize[0] || x.shape[2] < filterSize[1])) {
    throw new TypeError(`${op}: a ${filterSize.join('x')} window does not fit in a ${x.shape[1]}x${x.shape[2]} input (padding 'valid')`);
  }
  const attrs: Pool2dAttrs = { filterSize, strides, pad, inShape: [...x.shape] };
  return tf.engine().runKernel(kernel, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Average pooling over kh x kw windows (stride: the window's size unless given), 'valid' padding. */
export const avgPool2d = (x: tf.Tensor4D, size: number | [number, number], options: Pool2dOptions = {}) => pool(LAYER_AVG_POOL2D, 'avgPool2d', x, size, options, ['valid']);

/** Max pooling over kh x kw windows (stride: the window's size unless given), 'valid' or 'same' padding. */
export const maxPool2d = (x: tf.Tensor4D, size: number | [number, number], options: Pool2dOptions = {}) => pool(LAYER_MAX_POOL2D, 'maxPool2d', x, size, options, ['valid', 'same']);

// ---- the portable kernels -------------------------------------------------------------------------

/** tfjs's own attributes for its pooling kernels. */
export const stockPoolAttrs = (a: Pool2dAttrs) => ({ filterSize: a.filterSize, strides: a.strides, pad: a.pad, dimRoundingMode: undefined });

/** tfjs's own pooling kernel `name` on these inputs, with the op's window, stride and padding. */
const stockPool = (name: string, args: Args, inputs: Record<string, tf.TensorInfo>) =>
  stockKernel(name, args, inputs, stockPoolAttrs(args.attrs as unknown as Pool2dAttrs) as unknown as tf.NamedAttrMap);

/** A tensor's shape and dtype without values, for a stock kernel input that only they are read of. */
export const shapeOnly = (shape: readonly number[]): tf.TensorInfo => ({ dataId: {}, shape: [...shape], dtype: 'float32' });

/** Inputs dy; the input's shape from the attributes (tfjs's kernel reads only that of its input). */
const avgPoolGradCpu = (args: Args) => stockPool('AvgPoolGrad', args, { dy: args.inputs.dy, input: shapeOnly((args.attrs as unknown as Pool2dAttrs).inShape) });

/** Inputs dy, x (tfjs's kernel finds the maximum again from x; of its forward output it reads only the dtype). */
const maxPoolGradCpu = (args: Args) => stockPool('MaxPoolGrad', args, { dy: args.inputs.dy, input: args.inputs.x, output: shapeOnly(args.inputs.dy.shape) });

export const POOL2D_CPU_KERNELS = [
  { kernelName: LAYER_AVG_POOL2D, kernelFunc: (args: Args) => stockPool('AvgPool', args, { x: args.inputs.x }) },
  { kernelName: LAYER_AVG_POOL2D_GRAD, kernelFunc: avgPoolGradCpu },
  { kernelName: LAYER_MAX_POOL2D, kernelFunc: (args: Args) => stockPool('MaxPool', args, { x: args.inputs.x }) },
  { kernelName: LAYER_MAX_POOL2D_GRAD, kernelFunc: maxPoolGradCpu },
];

export const POOL2D_GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: LAYER_AVG_POOL2D,
    inputsToSave: [],
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.engine().runKernel(LAYER_AVG_POOL2D_GRAD, { dy: dy as tf.Tensor }, attrs) as tf.Tensor }),
  },
  {
    kernelName: LAYER_MAX_POOL2D,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => tf.engine().runKernel(LAYER_MAX_POOL2D_GRAD, { dy: dy as tf.Tensor, x }, attrs) as tf.Tensor }),
  },
];
