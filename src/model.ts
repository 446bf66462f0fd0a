// LeNet-5, defined once: a parameter spec (names and shapes in PyTorch's layout, fan-in for the
// paper's initialisation, which tensors are fixed) plus a forward function and a loss written
// with tfjs-core ops, so that tfjs-core's autodiff gives the gradients.
//
// Data layout: activations are NHWC (tfjs's convention); weights are stored as PyTorch stores
// them (conv OIHW, dense [out, in]), so a checkpoint is a plain dump. C1 and C3 transpose their
// (small) filters to tfjs's HWIO on the fly; C5, whose 5x5 window covers all of S4, is a matrix
// product with S4 flattened in PyTorch's CHW order, so its 48,000 weights are used as stored.
import { tf } from './tf.js';
import { conv2d, dense, rbf, softmaxCrossEntropy } from './ops/index.js';
import { digitCentres } from './digits.js';
import { INPUT_SIDE, NUM_CLASSES } from './data.js';
import { Purpose, stream, uniform01 } from './rng.js';
import { sizeOf, type Layout } from './params.js';

export type ModelName = 'lenet5' | 'lenet5-softmax';
export const MODEL_NAMES: readonly ModelName[] = ['lenet5', 'lenet5-softmax'];

/** The paper's C3 connection table: C3 map k reads these S2 maps (LeCun et al. 1998, Table I). */
export const C3_TABLE: readonly (readonly number[])[] = [
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5],
];

export interface ParamSpec {
  /** PyTorch state_dict name, e.g. `c3.weight`. */
  readonly name: string;
  /** PyTorch layout, e.g. [16, 6, 5, 5]. */
  readonly shape: readonly number[];
  /** Trainable tensors get gradients and updates; fixed ones (mask, RBF centres) never change. */
  readonly trainable: boolean;
  /** Fan-in of each output unit (indexed by the leading dimension): init is U(-2.4/F, 2.4/F). */
  readonly fanIn?: readonly number[];
  /** Value of a fixed tensor. */
  readonly value?: Float32Array;
  /** A fixed 0/1 tensor gating this one: entries where it is 0 start at 0 and get 0 gradient. */
  readonly mask?: string;
}

export interface ModelSpec {
  readonly name: ModelName;
  readonly params: readonly ParamSpec[];
  /** The constant j of the paper's loss (lenet5 only). */
  readonly j?: number;
}

export interface ModelOptions {
  /** lenet5's loss constant j; default 0.1. */
  j?: number;
}

export const DEFAULT_J = 0.1;

const repeat = (n: number, v: number) => new Array<number>(n).fill(v);

function c3Mask(full: boolean): Float32Array {
  const mask = new Float32Array(16 * 6); // [out 16, in 6]
  for (let o = 0; o < 16; o++) for (let i = 0; i < 6; i++) mask[o * 6 + i] = full || C3_TABLE[o].includes(i) ? 1 : 0;
  return mask;
}

/** The parameter spec of a model, in checkpoint order. */
export function createModel(name: ModelName, options: ModelOptions = {}): ModelSpec {
  if (!MODEL_NAMES.includes(name)) {
    throw new TypeError(`model must be one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  }
  const j = options.j ?? DEFAULT_J;
  if (typeof j !== 'number' || !Number.isFinite(j)) throw new TypeError(`j must be a finite number, got ${String(j)}`);
  const softmax = name === 'lenet5-softmax';
  const c3Fan = softmax ? repeat(16, 6 * 25) : C3_TABLE.map((maps) => maps.length * 25);
  const trunk: ParamSpec[] = [
    { name: 'c1.weight', shape: [6, 1, 5, 5], trainable: true, fanIn: repeat(6, 25) },
    { name: 'c1.bias', shape: [6], trainable: true, fanIn: repeat(6, 25) },
    { name: 'c3.weight', shape: [16, 6, 5, 5], trainable: true, fanIn: c3Fan, mask: softmax ? undefined : 'c3.mask' },
    { name: 'c3.bias', shape: [16], trainable: true, fanIn: c3Fan },
    { name: 'c3.mask', shape: [16, 6], trainable: false, value: c3Mask(softmax) },
    { name: 'c5.weight', shape: [120, 16, 5, 5], trainable: true, fanIn: repeat(120, 400) },
    { name: 'c5.bias', shape: [120], trainable: true, fanIn: repeat(120, 400) },
    { name: 'f6.weight', shape: [84, 120], trainable: true, fanIn: repeat(84, 120) },
    { name: 'f6.bias', shape: [84], trainable: true, fanIn: repeat(84, 120) },
  ];
  const head: ParamSpec[] = softmax
    ? [
        { name: 'out.weight', shape: [10, 84], trainable: true, fanIn: repeat(10, 84) },
        { name: 'out.bias', shape: [10], trainable: true, fanIn: repeat(10, 84) },
      ]
    : [{ name: 'rbf.centers', shape: [10, 84], trainable: false, value: digitCentres() }];
  return softmax ? { name, params: [...trunk, ...head] } : { name, params: [...trunk, ...head], j };
}

/** Number of trainable scalars of one tensor (masked-out entries do not count). */
export function trainableCount(spec: ModelSpec, p: ParamSpec): number {
  if (!p.trainable) return 0;
  if (!p.mask) return sizeOf(p.shape);
  const mask = spec.params.find((q) => q.name === p.mask)!.value!;
  const perMaskEntry = sizeOf(p.shape) / mask.length;
  return mask.reduce((n, m) => n + (m ? perMaskEntry : 0), 0);
}

/**
 * Fills `out` with one tensor's initial value: fixed tensors get their value; trainable ones
 * U(-2.4/F, 2.4/F) from stream(seed, init, index of the tensor), masked entries 0.
 */
/**
 * How trainable weights and biases start, uniform in +-bound for an input count (fan-in) F:
 * `paper` 2.4 / F (LeCun et al. 1998, appendix A), `pytorch` 1 / sqrt(F) (torch.nn.Conv2d and
 * Linear's default). With a softmax head the paper's bound leaves the signal so small that
 * lenet5-softmax sits at chance for its first ~550 steps; PyTorch's learns at once.
 */
export type WeightInit = 'paper' | 'pytorch';
export const WEIGHT_INITS: readonly WeightInit[] = ['paper', 'pytorch'];

export function initParam(spec: ModelSpec, index: number, seed: number, out: Float32Array, scheme: WeightInit): void {
  const p = spec.params[index];
  if (p.value) {
    out.set(p.value);
    return;
  }
  const rng = stream(seed, Purpose.init, index);
  const perUnit = sizeOf(p.shape) / p.shape[0];
  const mask = p.mask ? spec.params.find((q) => q.name === p.mask)!.value! : undefined;
  const perMaskEntry = mask ? sizeOf(p.shape) / mask.length : 1;
  for (let k = 0; k < out.length; k++) {
    const fanIn = p.fanIn![Math.floor(k / perUnit)];
    const bound = scheme === 'paper' ? 2.4 / fanIn : 1 / Math.sqrt(fanIn);
    const v = (2 * uniform01(rng) - 1) * bound;
    out[k] = mask && mask[Math.floor(k / perMaskEntry)] === 0 ? 0 : v;
  }
}

// ---- forward and loss, on tfjs-core ------------------------------------------------------------

/** The paper's activation f(a) = A tanh(S a). */
export const F_A = 1.7159;
export const F_S = 2 / 3;

export type Params = Readonly<Record<string, tf.Tensor>>;

/**
 * x: [n, 32, 32, 1] -> scores [n, 10]. For lenet5 the scores are the RBF penalties
 * y_i = sum_j (f6_j - c_ij)^2 (lower is better); for lenet5-softmax, logits (higher is better).
 *
 * Each layer computes f(W x + b) = A tanh(S (W x + b)), one layer op each (src/ops/). The
 * constants ride on the ops' scalars instead of on tensors: a layer keeps t = tanh(S (W x) + S b),
 * and the next layer, which sees A t (pooling and convolution are linear), scales its own W x by
 * A S. C5 is the paper's convolution (5x5 over a 5x5 input: a dense layer over S4, read in the
 * checkpoint's OIHW order). The function is the paper's (test/gradients.test.ts checks it
 * against a direct float64 implementation).
 */
export function forward(spec: ModelSpec, p: Params, x: tf.Tensor4D): tf.Tensor2D {
  if (x.shape[1] !== INPUT_SIDE || x.shape[2] !== INPUT_SIDE || x.shape[3] !== 1) {
    throw new Error(`input must be [n, ${INPUT_SIDE}, ${INPUT_SIDE}, 1], got [${x.shape.join(', ')}]`);
  }
  const AS = F_A * F_S;
  const layer = (alpha: number) => ({ alpha, beta: F_S, activation: 'tanh' as const });
  const w = (name: string) => p[name] as tf.Tensor4D;
  const b = (name: string) => p[name] as tf.Tensor1D;
  const mask = spec.name === 'lenet5' ? p['c3.mask'].dataSync() : null;
  const c1 = conv2d(x, w('c1.weight'), b('c1.bias'), { ...layer(F_S), inputGrad: false }); //  [n, 28, 28, 6]
  const s2 = tf.avgPool(c1, 2, 2, 'valid'); //                                                    [n, 14, 14, 6]
  const c3 = conv2d(s2, w('c3.weight'), b('c3.bias'), { ...layer(AS), mask }); //            [n, 10, 10, 16]
  const s4 = tf.avgPool(c3, 2, 2, 'valid'); //                                                    [n, 5, 5, 16]
  const c5 = conv2d(s4, w('c5.weight'), b('c5.bias'), layer(AS)); //                        [n, 1, 1, 120]
  const f6 = dense(c5, p['f6.weight'] as tf.Tensor2D, b('f6.bias'), layer(AS)); //          [n, 84]
  if (spec.name === 'lenet5-softmax') return dense(f6, p['out.weight'] as tf.Tensor2D, b('out.bias'), { alpha: F_A }); // [n, 10]
  return rbf(f6, p['rbf.centers'] as tf.Tensor2D, { alpha: F_A }); //                             [n, 10]
}

/**
 * The loss from scores [n, 10] and one-hot targets [n, 10], per sample ([n]) or its mean.
 * lenet5 (the paper's eq. 9): y_label + log(exp(-j) + sum_i exp(-y_i)): a softmax cross-entropy
 * over -y with an extra "none of these" logit -j. lenet5-softmax: cross-entropy over the logits.
 */
export function loss(spec: ModelSpec, scores: tf.Tensor2D, oneHot: tf.Tensor2D, reduction: 'mean' | 'none'): tf.Tensor {
  const rbfHead = spec.name === 'lenet5';
  return softmaxCrossEntropy(scores, oneHot, { scale: rbfHead ? -1 : 1, reject: rbfHead ? -spec.j! : null, reduction });
}

/**
 * At or above this P(none) a prediction is marked unsure. A perfect match (penalty 0) gets at
 * most 1 / (1 + exp(-j)), ~52% at j = 0.1, so "none" near half is normal for a clean digit; 0.9
 * means the best penalty is above j + ln 9 (~2.3 at j = 0.1): far from every digit's centre.
 */
export const UNRECOGNISED = 0.9;

export function posterior(spec: ModelSpec, scores: ArrayLike<number>): { probabilities: number[]; none: number } {
  const rbfHead = spec.name === 'lenet5';
  const z = Array.from({ length: NUM_CLASSES }, (_, i) => (rbfHead ? -scores[i] : scores[i]));
  const reject = rbfHead ? -(spec.j ?? DEFAULT_J) : -Infinity;
  const m = Math.max(reject, ...z);
  const e = z.map((v) => Math.exp(v - m));
  const eNone = Math.exp(reject - m);
  const total = e.reduce((a, b) => a + b, eNone);
  return { probabilities: e.map((v) => v / total), none: eNone / total };
}

/** The predicted class of each sample from scores [n, 10] (argmin for RBF penalties, else argmax). */
export function predictions(spec: ModelSpec, scores: Float32Array | Int32Array | Uint8Array, n: number): Int32Array {
  const out = new Int32Array(n);
  const better = spec.name === 'lenet5' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  for (let s = 0; s < n; s++) {
    let best = 0;
    for (let i = 1; i < NUM_CLASSES; i++) if (better(scores[s * NUM_CLASSES + i], scores[s * NUM_CLASSES + best])) best = i;
    out[s] = best;
  }
  return out;
}

/**
 * Fixed tensors must be the model's own (a C3 table, RBF centres), and masked weights zero: what
 * is wrong, or null.
 */
export function fixedMismatch(spec: ModelSpec, layout: Layout, weights: Float32Array): string | null {
  for (const p of spec.params) {
    const t = layout.tensors.find((v) => v.name === p.name)!;
    const got = weights.subarray(t.offset, t.offset + t.size);
    if (p.value && got.some((v, i) => v !== Math.fround(p.value![i]))) return `${p.name} is fixed in a ${spec.name} model but differs from its definition`;
    if (p.mask) {
      const mask = spec.params.find((q) => q.name === p.mask)!.value!;
      const per = t.size / mask.length;
      if (got.some((v, i) => v !== 0 && mask[Math.floor(i / per)] === 0)) return `${p.name} has non-zero weights where ${p.mask} is 0`;
    }
  }
  return null;
}
