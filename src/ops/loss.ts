// The output-side layer ops, each one tfjs kernel forward and one backward, the same portable
// kernel on every backend (their tensors are [n, classes]: small, plain loops, float64 sums):
//
//   rbf(x [n, d], c [k, d], { alpha })   y[n, k] = sum_j (alpha x[n, j] - c[k, j])^2, Euclidean
//                                        radial basis units (LeNet-5's output layer)
//   softmaxCrossEntropy(scores [n, K], oneHot [n, K], { scale, reject, reduction })
//        z = scale scores; loss_n = logsumexp(z_n, reject) - z_n[label], where `reject`, if
//        given, is the logit of an extra "none of these" class that no sample belongs to
//        (LeNet-5's eq. 9: scores = RBF penalties, scale -1, reject -j); mean or per sample.
import * as tf from '@tensorflow/tfjs-core';
import { cpuOf, vals, type Args } from './layer-kernel.js';
import type { RbfOptions, SoftmaxCrossEntropyOptions } from './options.js';

export type { RbfOptions, SoftmaxCrossEntropyOptions };

export const LAYER_RBF = 'LayerRbf';
export const LAYER_RBF_GRAD = 'LayerRbfGrad';
export const LAYER_SOFTMAX_CE = 'LayerSoftmaxCrossEntropy';
export const LAYER_SOFTMAX_CE_GRAD = 'LayerSoftmaxCrossEntropyGrad';


export function rbf(x: tf.Tensor2D, c: tf.Tensor2D, options: RbfOptions = {}): tf.Tensor2D {
  if (x.rank !== 2 || c.rank !== 2 || x.shape[1] !== c.shape[1]) throw new TypeError(`rbf: x must be [n, d] and c [k, d], got [${x.shape}] and [${c.shape}]`);
  return tf.engine().runKernel(LAYER_RBF, { x, centers: c }, { alpha: options.alpha ?? 1 }) as tf.Tensor2D;
}

function rbfForward(args: Args): tf.TensorInfo {
  const { x, centers } = args.inputs;
  const alpha = (args.attrs as { alpha: number }).alpha;
  const [n, d] = x.shape;
  const k = centers.shape[0];
  const xv = vals(args, x);
  const cv = vals(args, centers);
  const y = new Float32Array(n * k);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += (alpha * xv[s * d + j] - cv[i * d + j]) ** 2;
      y[s * k + i] = acc;
    }
  return cpuOf(args).makeTensorInfo([n, k], 'float32', y);
}

/** Inputs dy, x, centers; outputs [dx, dc]. */
function rbfBackward(args: Args): tf.TensorInfo[] {
  const { dy, x, centers } = args.inputs;
  const alpha = (args.attrs as { alpha: number }).alpha;
  const [n, d] = x.shape;
  const k = centers.shape[0];
  const [dyv, xv, cv] = [vals(args, dy), vals(args, x), vals(args, centers)];
  const dx = new Float32Array(n * d);
  const dc = new Float64Array(k * d);
  for (let s = 0; s < n; s++)
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let i = 0; i < k; i++) {
        const t = 2 * dyv[s * k + i] * (alpha * xv[s * d + j] - cv[i * d + j]);
        acc += t;
        dc[i * d + j] -= t;
      }
      dx[s * d + j] = alpha * acc;
    }
  const be = cpuOf(args);
  return [be.makeTensorInfo([n, d], 'float32', dx), be.makeTensorInfo([k, d], 'float32', Float32Array.from(dc))];
}

export const RBF_GRADIENT: tf.GradConfig = {
  kernelName: LAYER_RBF,
  inputsToSave: ['x', 'centers'],
  gradFunc: (dy, [x, centers], attrs) => {
    const [dx, dc] = tf.engine().runKernel(LAYER_RBF_GRAD, { dy: dy as tf.Tensor, x, centers }, attrs) as tf.Tensor[];
    return { x: () => dx, centers: () => dc };
  },
};

export function softmaxCrossEntropy(scores: tf.Tensor2D, oneHot: tf.Tensor2D, options: SoftmaxCrossEntropyOptions = {}): tf.Tensor {
  if (scores.rank !== 2 || oneHot.rank !== 2 || scores.shape.some((d, i) => d !== oneHot.shape[i])) {
    throw new TypeError(`softmaxCrossEntropy: scores and oneHot must both be [n, classes], got [${scores.shape}] and [${oneHot.shape}]`);
  }
  const reduction = options.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'none') throw new TypeError(`softmaxCrossEntropy: reduction must be 'mean' or 'none', got ${String(reduction)}`);
  const attrs = { scale: options.scale ?? 1, reject: options.reject ?? null, reduction };
  const [loss] = tf.engine().runKernel(LAYER_SOFTMAX_CE, { scores, oneHot }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return loss;
}

/**
 * Outputs [loss, g]: loss as asked, and g = d(sum of per-sample losses)/d(scores), [n, K], which
 * the backward pass scales by dy (the forward pass has everything it needs at hand).
 */
function ceForward(args: Args): tf.TensorInfo[] {
  const { scores, oneHot } = args.inputs;
  const { scale, reject, reduction } = args.attrs as unknown as { scale: number; reject: number | null; reduction: 'mean' | 'none' };
  const [n, K] = scores.shape;
  const sv = vals(args, scores);
  const yv = vals(args, oneHot);
  const losses = new Float64Array(n);
  const g = new Float32Array(n * K);
  for (let s = 0; s < n; s++) {
    let m = reject ?? -Infinity;
    for (let i = 0; i < K; i++) m = Math.max(m, scale * sv[s * K + i]);
    let total = reject === null ? 0 : Math.exp(reject - m);
    for (let i = 0; i < K; i++) total += Math.exp(scale * sv[s * K + i] - m);
    const lse = m + Math.log(total);
    let picked = 0;
    for (let i = 0; i < K; i++) {
      const z = scale * sv[s * K + i];
      picked += yv[s * K + i] * z;
      g[s * K + i] = scale * (Math.exp(z - lse) - yv[s * K + i]);
    }
    losses[s] = lse - picked;
  }
  const be = cpuOf(args);
  const loss =
    reduction === 'mean' ? be.makeTensorInfo([], 'float32', Float32Array.of(losses.reduce((a, b) => a + b, 0) / n)) : be.makeTensorInfo([n], 'float32', Float32Array.from(losses));
  return [loss, be.makeTensorInfo([n, K], 'float32', g)];
}

/** Inputs dy (scalar or [n]) and g; output dscores = g times dy (per row), / n for the mean. */
function ceBackward(args: Args): tf.TensorInfo {
  const { dy, g } = args.inputs;
  const { reduction } = args.attrs as unknown as { reduction: 'mean' | 'none' };
  const [n, K] = g.shape;
  const dyv = vals(args, dy);
  const gv = vals(args, g);
  const out = new Float32Array(n * K);
  for (let s = 0; s < n; s++) {
    const f = reduction === 'mean' ? dyv[0] / n : dyv[s];
    for (let i = 0; i < K; i++) out[s * K + i] = f * gv[s * K + i];
  }
  return cpuOf(args).makeTensorInfo([n, K], 'float32', out);
}

export const SOFTMAX_CE_GRADIENT: tf.GradConfig = {
  kernelName: LAYER_SOFTMAX_CE,
  outputsToSave: [false, true],
  // Two outputs, so dy is [d loss, d g]; g is not differentiated further.
  gradFunc: (dy, [g], attrs) => ({
    scores: () => tf.engine().runKernel(LAYER_SOFTMAX_CE_GRAD, { dy: (dy as tf.Tensor[])[0], g }, attrs) as tf.Tensor,
    oneHot: () => {
      throw new Error('softmaxCrossEntropy: the targets have no gradient');
    },
  }),
};

/** Registered on every backend: the same code. */
export const LOSS_KERNELS = [
  { kernelName: LAYER_RBF, kernelFunc: rbfForward },
  { kernelName: LAYER_RBF_GRAD, kernelFunc: rbfBackward },
  { kernelName: LAYER_SOFTMAX_CE, kernelFunc: ceForward },
  { kernelName: LAYER_SOFTMAX_CE_GRAD, kernelFunc: ceBackward },
];
