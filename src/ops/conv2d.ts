// conv2d, the convolution layer op: y = act(alpha (x * (w . mask)) + beta b), one tfjs kernel
// forward (LayerConv2D) and one backward (LayerConv2DGrad) however many tensors a layer has, so
// tfjs-core's engine (kernel lookup, tape, a clone per saved tensor) is paid once a layer, and
// the bias, scaling and activation ride on the product's output instead of taking passes of
// their own. Any model builds on it; tfjs's autodiff chains it with every other op.
//
// Shapes: x [n, h, w, c] (NHWC), w [o, c, kh, kw] (PyTorch's OIHW, so checkpoints need no
// reshaping), b [o], mask [o, c] (a fixed connection table, 1 = connected), y [n, oh, ow, o] with
// 'valid' padding oh = floor((h - kh) / stride) + 1, with 'same' oh = ceil(h / stride) (zero
// padding split as tfjs and TensorFlow split it, the extra row or column at the bottom and right).
//
// Kernels: the portable definition below (registered on tfjs's `cpu` backend, built on its
// stock Conv2D kernels) and the WebAssembly one (src/kernels/layer-conv2d.ts) on the fast backend.
import * as tf from '@tensorflow/tfjs-core';
import { cpuOf, layerAttrs, layerGradient, stockKernel, vals, type Args, type LayerAttrs } from './layer-kernel.js';
import { activate, slope } from './activation.js';
import type { Conv2dOptions } from './options.js';

export type { Conv2dOptions };

export const LAYER_CONV2D = 'LayerConv2D';
export const LAYER_CONV2D_GRAD = 'LayerConv2DGrad';

/** The kernels' attributes (mask as plain numbers: it is fixed, not a tensor on the tape). */
export interface Conv2dAttrs extends LayerAttrs {
  mask: number[] | null;
  strides: [number, number];
  pad: 'valid' | 'same';
}

/** The stock convolution kernels' attributes for a layer's stride and padding. */
export const convAttrs = (a: Conv2dAttrs) => ({ strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined });

export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null, options: Conv2dOptions = {}): tf.Tensor4D {
  const [o, c, kh, kw] = w.shape;
  if (x.rank !== 4 || w.rank !== 4) throw new TypeError(`conv2d: x must be [n, h, w, c] and w [o, c, kh, kw], got [${x.shape}] and [${w.shape}]`);
  if (x.shape[3] !== c) throw new TypeError(`conv2d: x has ${x.shape[3]} channels, w expects ${c}`);
  const stride = options.stride ?? 1;
  const strides: [number, number] = typeof stride === 'number' ? [stride, stride] : [stride[0], stride[1]];
  if (!strides.every((v) => Number.isInteger(v) && v >= 1)) throw new TypeError(`conv2d: stride must be a positive integer or two of them, got ${JSON.stringify(stride)}`);
  const pad = options.padding ?? 'valid';
  if (pad !== 'valid' && pad !== 'same') throw new TypeError(`conv2d: padding must be 'valid' or 'same', got ${JSON.stringify(pad)}`);
  if (pad === 'valid' && (x.shape[1] < kh || x.shape[2] < kw)) throw new TypeError(`conv2d: a ${kh}x${kw} filter does not fit in a ${x.shape[1]}x${x.shape[2]} input (padding 'valid')`);
  if (b && (b.rank !== 1 || b.shape[0] !== o)) throw new TypeError(`conv2d: b must be [${o}], got [${b.shape}]`);
  const mask = options.mask ? Array.from(options.mask) : null;
  if (mask && mask.length !== o * c) throw new TypeError(`conv2d: mask must have o x c = ${o * c} entries, got ${mask.length}`);
  const attrs: Conv2dAttrs = { ...layerAttrs(options, 'conv2d'), mask, strides, pad };
  const inputs: Record<string, tf.Tensor> = b ? { x, filter: w, bias: b } : { x, filter: w };
  return tf.engine().runKernel(LAYER_CONV2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

// ---- the portable kernels -------------------------------------------------------------------------


/** OIHW <-> HWIO (tfjs's conv filter, [K, O] as a matrix), masked and times `scale`. */
function relayout(src: Float32Array, [o, c, kh, kw]: number[], mask: number[] | null, scale: number, toHwio: boolean): Float32Array {
  const out = new Float32Array(src.length);
  for (let k = 0; k < o; k++)
    for (let ci = 0; ci < c; ci++) {
      const m = (mask ? mask[k * c + ci] : 1) * scale;
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const oihw = ((k * c + ci) * kh + i) * kw + j;
          const hwio = ((i * kw + j) * c + ci) * o + k;
          if (toHwio) out[hwio] = m * src[oihw];
          else out[oihw] = m * src[hwio];
        }
    }
  return out;
}

/** OIHW weights as the HWIO filter, zero where the mask is 0, times `scale`. */
export const hwioOf = (w: Float32Array, shape: number[], mask: number[] | null, scale = 1) => relayout(w, shape, mask, scale, true);
/** The inverse, for a filter gradient. */
export const oihwOf = (g: Float32Array, shape: number[], mask: number[] | null, scale = 1) => relayout(g, shape, mask, scale, false);

function forwardCpu(args: Args): tf.TensorInfo {
  const { x, filter, bias } = args.inputs;
  const a = args.attrs as unknown as Conv2dAttrs;
  const be = cpuOf(args);
  const [o, c, kh, kw] = filter.shape;
  const f = be.makeTensorInfo([kh, kw, c, o], 'float32', hwioOf(vals(args, filter), filter.shape, a.mask));
  const conv = stockKernel('Conv2D', args, { x, filter: f }, convAttrs(a) as unknown as tf.NamedAttrMap);
  be.disposeIntermediateTensorInfo(f);
  const v = vals(args, conv);
  const b = bias ? vals(args, bias) : null;
  const y = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) y[i] = activate(a.activation, a.alpha * v[i] + (b ? a.beta * b[i % o] : 0));
  const out = be.makeTensorInfo(conv.shape, 'float32', y);
  be.disposeIntermediateTensorInfo(conv);
  return out;
}

/** Inputs dy, x, filter, y (the forward output); outputs [dx ([0] without inputGrad), dw, db (whether or not the op had a bias: it is cheap)]. */
function backwardCpu(args: Args): tf.TensorInfo[] {
  const { dy, x, filter, y } = args.inputs;
  const a = args.attrs as unknown as Conv2dAttrs;
  const be = cpuOf(args);
  const [o, c, kh, kw] = filter.shape;
  const dyv = vals(args, dy);
  const yv = vals(args, y);
  const gz = new Float32Array(dyv.length); // dL/d(x * w): dy act'(z) alpha
  const db = new Float64Array(o);
  for (let i = 0; i < dyv.length; i++) {
    const g = dyv[i] * slope(a.activation, yv[i]);
    gz[i] = a.alpha * g;
    db[i % o] += g;
  }
  const g = be.makeTensorInfo(dy.shape, 'float32', gz);
  const dwHwio = stockKernel('Conv2DBackpropFilter', args, { x, dy: g }, { ...convAttrs(a), filterShape: [kh, kw, c, o] } as unknown as tf.NamedAttrMap);
  const dw = be.makeTensorInfo(filter.shape, 'float32', oihwOf(vals(args, dwHwio), filter.shape, a.mask));
  be.disposeIntermediateTensorInfo(dwHwio);
  let dx: tf.TensorInfo;
  if (a.inputGrad) {
    const f = be.makeTensorInfo([kh, kw, c, o], 'float32', hwioOf(vals(args, filter), filter.shape, a.mask));
    dx = stockKernel('Conv2DBackpropInput', args, { dy: g, filter: f }, { ...convAttrs(a), inputShape: x.shape } as unknown as tf.NamedAttrMap);
    be.disposeIntermediateTensorInfo(f);
  } else dx = be.makeTensorInfo([0], 'float32', new Float32Array(0));
  be.disposeIntermediateTensorInfo(g);
  return [dx, dw, be.makeTensorInfo([o], 'float32', Float32Array.from(db, (v) => a.beta * v))];
}

export const CONV2D_CPU_KERNELS = [
  { kernelName: LAYER_CONV2D, kernelFunc: forwardCpu },
  { kernelName: LAYER_CONV2D_GRAD, kernelFunc: backwardCpu },
];

export const CONV2D_GRADIENT = layerGradient('conv2d', LAYER_CONV2D, LAYER_CONV2D_GRAD, 'filter');
