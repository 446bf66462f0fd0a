// dense, the fully connected layer op: y = act(alpha (x W^T) + beta b), one tfjs kernel forward
// (LayerDense) and one backward (LayerDenseGrad), like conv2d (see there for why).
//
// Shapes: x [n, ...] (each sample's values flattened in memory order: [n, 1, 1, 120] NHWC is
// [n, 120]), w [out, in] (PyTorch's nn.Linear layout), b [out], y [n, out].
//
// Kernels: the portable definition below (plain loops, float64 sums; on tfjs's `cpu` backend)
// and the WebAssembly one (src/kernels/layer-dense.ts) on the fast backend.
import * as tf from '@tensorflow/tfjs-core';
import { cpuOf, layerAttrs, layerGradient, vals, type Args, type LayerAttrs } from './layer-kernel.js';
import { activate, slope } from './activation.js';
import type { DenseOptions } from './options.js';

export type { DenseOptions };

export const LAYER_DENSE = 'LayerDense';
export const LAYER_DENSE_GRAD = 'LayerDenseGrad';

export type DenseAttrs = LayerAttrs;

export function dense(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D | null, options: DenseOptions = {}): tf.Tensor2D {
  const [out, inn] = w.shape;
  const perSample = x.shape.slice(1).reduce((p, d) => p * d, 1);
  if (w.rank !== 2 || x.rank < 2 || perSample !== inn) {
    throw new TypeError(`dense: x must be [n, ...] with ${inn} values a sample to match w [${w.shape}], got [${x.shape}]`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== out)) throw new TypeError(`dense: b must be [${out}], got [${b.shape}]`);
  const attrs = layerAttrs(options, 'dense');
  const inputs: Record<string, tf.Tensor> = b ? { x, weight: w, bias: b } : { x, weight: w };
  return tf.engine().runKernel(LAYER_DENSE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

// ---- the portable kernels -------------------------------------------------------------------------


function forwardCpu(args: Args): tf.TensorInfo {
  const { x, weight, bias } = args.inputs;
  const a = args.attrs as unknown as DenseAttrs;
  const [out, inn] = weight.shape;
  const n = x.shape[0];
  const xv = vals(args, x);
  const wv = vals(args, weight);
  const b = bias ? vals(args, bias) : null;
  const y = new Float32Array(n * out);
  for (let s = 0; s < n; s++)
    for (let k = 0; k < out; k++) {
      let acc = 0;
      for (let i = 0; i < inn; i++) acc += xv[s * inn + i] * wv[k * inn + i];
      y[s * out + k] = activate(a.activation, a.alpha * acc + (b ? a.beta * b[k] : 0));
    }
  return cpuOf(args).makeTensorInfo([n, out], 'float32', y);
}

/** Inputs dy, x, weight, y; outputs [dx (x's shape; [0] without inputGrad), dw, db]. */
function backwardCpu(args: Args): tf.TensorInfo[] {
  const { dy, x, weight, y } = args.inputs;
  const a = args.attrs as unknown as DenseAttrs;
  const [out, inn] = weight.shape;
  const n = x.shape[0];
  const [dyv, yv, xv, wv] = [vals(args, dy), vals(args, y), vals(args, x), vals(args, weight)];
  const g = new Float64Array(n * out); // dL/dz, z = alpha (x W^T) + beta b
  for (let i = 0; i < n * out; i++) g[i] = dyv[i] * slope(a.activation, yv[i]);
  const db = new Float32Array(out);
  const dw = new Float32Array(out * inn);
  for (let k = 0; k < out; k++) {
    let sb = 0;
    for (let s = 0; s < n; s++) sb += g[s * out + k];
    db[k] = a.beta * sb;
    for (let i = 0; i < inn; i++) {
      let acc = 0;
      for (let s = 0; s < n; s++) acc += g[s * out + k] * xv[s * inn + i];
      dw[k * inn + i] = a.alpha * acc;
    }
  }
  const be = cpuOf(args);
  let dx: tf.TensorInfo;
  if (a.inputGrad) {
    const d = new Float32Array(n * inn);
    for (let s = 0; s < n; s++)
      for (let i = 0; i < inn; i++) {
        let acc = 0;
        for (let k = 0; k < out; k++) acc += g[s * out + k] * wv[k * inn + i];
        d[s * inn + i] = a.alpha * acc;
      }
    dx = be.makeTensorInfo(x.shape, 'float32', d);
  } else dx = be.makeTensorInfo([0], 'float32', new Float32Array(0));
  return [dx, be.makeTensorInfo([out, inn], 'float32', dw), be.makeTensorInfo([out], 'float32', db)];
}

export const DENSE_CPU_KERNELS = [
  { kernelName: LAYER_DENSE, kernelFunc: forwardCpu },
  { kernelName: LAYER_DENSE_GRAD, kernelFunc: backwardCpu },
];

export const DENSE_GRADIENT = layerGradient('dense', LAYER_DENSE, LAYER_DENSE_GRAD, 'weight');
