// What a model's forward function is written with, as the public API types it: tfjs-core (the
// package's own instance, with its gradients registered: a model must not import its own copy)
// as `TfOps`, and the layer ops over the package's tensor types (src/tensor.ts, which says why
// tfjs-core's own declarations stay out of the published ones). These are the very objects that
// src/tf.ts and src/ops/ export; only their declared types differ. The built-in models use them
// too, so the repository's own type check proves the public types are enough to write a model.
import { tf as core } from './tf.js';
import * as ops from './ops/index.js';
import type { Tensor, Tensor2D, Tensor4D, TfOps } from './tensor.js';
import type { Conv2dOptions, DenseOptions, Pool2dOptions, RbfOptions, SoftmaxCrossEntropyOptions } from './ops/options.js';

// The compiler compares TfOps with tfjs-core here, op by op, each with its type parameters at
// their bounds: the same arguments in the same order, each taking at least what tfjs-core's
// takes, and a result that tfjs-core's result is. (tfjs-core cannot simply be assigned to TfOps:
// its generics are bounded by its own Tensor and Rank, ours by ours.) `tensor` is left out: it
// takes no WebGL or WebGPU data here, which a trainer on the CPU never has.
type Sig<F> = F extends (...args: infer A) => infer R ? [A, R] : never;
type Sigs<O> = { [K in keyof O]: Sig<O[K]> };
type Is<T, U extends T> = U;
type Checked = Exclude<keyof TfOps, 'tensor'>;
type TfOpsMatchTfjsCore = Is<Sigs<Pick<TfOps, Checked>>, Sigs<Pick<typeof core, Checked>>>;

/**
 * tfjs-core, typed as the ops a model needs (`TfOps`). At run time it is all of tfjs-core 4;
 * another of its functions is reachable with a cast to tfjs-core's own type.
 */
export const tf = core as unknown as TfOps;

// The layer ops' weights and biases are typed `Tensor` (what `Params` holds), not by rank:
// each op checks their shapes at run time and says what it expected.

/**
 * Convolution layer: y = act(alpha (x * (w . mask)) + beta b), x [n, h, w, c] (NHWC),
 * w [o, c, kh, kw] (PyTorch's layout), b [o] or null -> y [n, oh, ow, o].
 */
export const conv2d = ops.conv2d as unknown as (x: Tensor4D, w: Tensor, b: Tensor | null, options?: Conv2dOptions) => Tensor4D;

/** Fully connected layer: y = act(alpha (x W^T) + beta b), x [n, ...] (flattened per sample), w [out, in], b [out] or null -> y [n, out]. */
export const dense = ops.dense as unknown as (x: Tensor, w: Tensor, b: Tensor | null, options?: DenseOptions) => Tensor2D;

/** Average pooling: x [n, h, w, c] -> [n, oh, ow, c], kh x kw windows (size: a number or [kh, kw]), stride the window's size unless given, 'valid' padding. */
export const avgPool2d = ops.avgPool2d as unknown as (x: Tensor4D, size: number | [number, number], options?: Pool2dOptions) => Tensor4D;

/** Max pooling: x [n, h, w, c] -> [n, oh, ow, c], kh x kw windows, stride the window's size unless given, 'valid' or 'same' padding. */
export const maxPool2d = ops.maxPool2d as unknown as (x: Tensor4D, size: number | [number, number], options?: Pool2dOptions) => Tensor4D;

/** Euclidean radial basis units: y[n, k] = sum_j (alpha x[n, j] - c[k, j])^2, x [n, d], c [k, d] -> y [n, k]. */
export const rbf = ops.rbf as unknown as (x: Tensor2D, c: Tensor, options?: RbfOptions) => Tensor2D;

/** Softmax cross-entropy of scores [n, K] against one-hot targets [n, K]: the mean (a scalar) or per sample ([n]). */
export const softmaxCrossEntropy = ops.softmaxCrossEntropy as unknown as (scores: Tensor2D, oneHot: Tensor2D, options?: SoftmaxCrossEntropyOptions) => Tensor;
