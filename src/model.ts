// A model is a definition: its parameters (PyTorch names and layouts, how they start, which are
// fixed), the image shape it reads and the class count it scores, how an image becomes its input,
// a forward function written with tfjs-core ops and the package's layer ops, a loss, and how
// scores become predictions. defineModel() checks a definition once and fills its defaults; the
// runtime (coordinator, workers, checkpoints) knows models only through this interface. The
// built-in models are defined with it in src/models/.
import { softmaxCrossEntropy } from './model-ops.js';
import type { Tensor, Tensor2D, Tensor4D } from './tensor.js';
import { Purpose, stream, uniform01 } from './rng.js';
import { sizeOf, type Layout } from './params.js';

/** [height, width, channels]. */
export type ImageShape = readonly [number, number, number];

export type Params = Readonly<Record<string, Tensor>>;

/**
 * How trainable tensors start, uniform in +-bound for an input count (fan-in) F: `paper` 2.4 / F
 * (LeCun et al. 1998, appendix A), `pytorch` 1 / sqrt(F) (torch.nn.Conv2d and Linear's default
 * bound for their weights and biases alike).
 */
export type WeightInit = 'paper' | 'pytorch';
export const WEIGHT_INITS: readonly WeightInit[] = ['paper', 'pytorch'];

/** One tensor of a model, as a definition gives it. */
export interface ParamDef {
  /** PyTorch state_dict name, e.g. `conv1.weight`. */
  readonly name: string;
  /** PyTorch layout: conv weights [out, in, kh, kw], dense weights [out, in], biases [out]. */
  readonly shape: readonly number[];
  /** The value of a fixed tensor (never trained, e.g. a connection table). */
  readonly value?: ArrayLike<number>;
  /** Default: true unless `value` is given. */
  readonly trainable?: boolean;
  /**
   * How a trainable tensor starts: `uniform` (default; the trainer's weightInit bound from the
   * fan-in), `zeros`, `ones`, or a function that fills the values from uniform [0, 1) draws.
   */
  readonly init?: 'uniform' | 'zeros' | 'ones' | ((out: Float32Array, random: () => number) => void);
  /** Fan-in for `uniform`: one number, or one per index of the leading dimension. Default: the product of shape[1..] (give it for 1-D tensors such as biases: their layer's input count). */
  readonly fanIn?: number | readonly number[];
  /** A fixed 0/1 tensor gating this one (its size divides this one's): entries where it is 0 start at 0 and must stay 0. */
  readonly mask?: string;
}

/** A numeric option of a model (e.g. lenet5's loss constant j), given as `modelOptions`. */
export interface ModelOptionDef {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

/** What forward, loss and the rest are told besides their tensors. */
export interface ModelContext {
  /** The model's options, every one filled. */
  readonly options: Readonly<Record<string, number>>;
}

/** A random draw for one sample's augmentation: the ranges asked for, and a seeded stream. */
export interface Augmentation {
  readonly ranges: Readonly<Record<string, number>>;
  /** Uniform in [0, 1); the same sequence for a sample in an epoch, whichever worker asks. */
  readonly random: () => number;
}

export interface ModelDefinition {
  /** Recorded in checkpoints; letters, digits, `.`, `_`, `-`. */
  readonly name: string;
  /** The image shape of one sample in the data, [H, W, C] bytes. */
  readonly image: ImageShape;
  /** K: labels are 0..K-1 and forward returns [n, K] scores. */
  readonly classes: number;
  /** Every tensor, in checkpoint order. */
  readonly params: readonly ParamDef[];
  /** The shape forward() gets per sample. Default: `image`. */
  readonly input?: ImageShape;
  /**
   * One image's values [H, W, C] (bytes, or float32 when the data holds floats) -> its input floats
   * [input] (NHWC); `augment` is set for training samples when augmentation is on. Default: bytes
   * p / 255, floats as they are.
   */
  readonly prepare?: (image: Uint8Array | Float32Array, out: Float32Array, augment: Augmentation | null) => void;
  /** x [n, ...input] -> scores [n, K]. */
  readonly forward: (p: Params, x: Tensor4D, ctx: ModelContext) => Tensor2D;
  /** Loss per sample ([n]) or its mean, from scores and one-hot targets [n, K]. Default: softmax cross-entropy over the scores. */
  readonly loss?: (scores: Tensor2D, oneHot: Tensor2D, reduction: 'mean' | 'none', ctx: ModelContext) => Tensor;
  /** Which score wins. Default `argmax`. */
  readonly predict?: 'argmax' | 'argmin';
  /** One sample's scores -> class probabilities (and the share of "none of these", if the model has one). Default: softmax. */
  readonly probabilities?: (scores: ArrayLike<number>, ctx: ModelContext) => { probabilities: number[]; none: number };
  /** What a score is called in printed output. Default `logit`. */
  readonly scoreName?: string;
  readonly options?: Readonly<Record<string, ModelOptionDef>>;
  /** Augmentation ranges (name -> default and largest value), when the model augments its training images (`prepare` then gets them). */
  readonly augment?: Readonly<Record<string, { readonly default: number; readonly max: number }>>;
  /** Training defaults for this model where the trainer's do not suit it. */
  readonly defaults?: { readonly learningRate?: number; readonly weightInit?: WeightInit };
}

/** A parameter as the runtime uses it: every field filled. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
  readonly init: NonNullable<ParamDef['init']>;
  /** Fan-in of each index of the leading dimension (for `uniform`). */
  readonly fanIn?: readonly number[];
  readonly value?: Float32Array;
  readonly mask?: string;
}

/** A checked definition with its defaults filled: what defineModel returns. */
export interface ModelSpec extends Required<Omit<ModelDefinition, 'params' | 'defaults' | 'augment'>> {
  readonly params: readonly ParamSpec[];
  readonly augment: ModelDefinition['augment'] | null;
  readonly defaults: NonNullable<ModelDefinition['defaults']>;
  /** Marks a checked spec (a definition passed twice is not checked again). */
  readonly checked: true;
}

const bad = (what: string, must: string, got?: unknown) => new TypeError(`defineModel: ${what} must be ${must}${got === undefined ? '' : `, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`}`);
const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function checkShape(what: string, s: unknown): ImageShape {
  if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => isPositiveInt(v) && v <= 4096)) throw bad(what, 'an [H, W, C] array of positive integers', JSON.stringify(s));
  return [s[0], s[1], s[2]];
}

function checkParam(p: ParamDef, i: number, names: Set<string>): ParamSpec {
  const at = `params[${i}]${p && typeof p.name === 'string' ? ` (${p.name})` : ''}`;
  if (typeof p !== 'object' || p === null) throw bad(`params[${i}]`, 'an object { name, shape, ... }');
  if (typeof p.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(p.name)) throw bad(`${at}.name`, 'a name of letters, digits, ".", "_", "-"', p.name);
  if (names.has(p.name)) throw bad(`${at}.name`, 'unique', p.name);
  names.add(p.name);
  if (!Array.isArray(p.shape) || p.shape.length < 1 || !p.shape.every(isPositiveInt)) throw bad(`${at}.shape`, 'an array of positive integers', JSON.stringify(p.shape));
  const size = sizeOf(p.shape);
  const trainable = p.trainable ?? p.value === undefined;
  let value: Float32Array | undefined;
  if (p.value !== undefined) {
    if (trainable) throw bad(`${at}`, 'fixed (trainable: false) when it has a value');
    if (typeof p.value.length !== 'number' || p.value.length !== size) throw bad(`${at}.value`, `${size} numbers (shape [${p.shape.join(', ')}])`, p.value?.length);
    value = Float32Array.from(p.value);
  } else if (!trainable) throw bad(`${at}.value`, 'given for a fixed tensor');
  const init = p.init ?? 'uniform';
  if (typeof init !== 'function' && !['uniform', 'zeros', 'ones'].includes(init)) throw bad(`${at}.init`, "'uniform', 'zeros', 'ones' or a function", init);
  let fanIn: number[] | undefined;
  if (trainable && init === 'uniform') {
    const given = p.fanIn ?? (p.shape.length >= 2 ? sizeOf(p.shape.slice(1)) : undefined);
    if (given === undefined) throw bad(`${at}.fanIn`, "given for a 1-D tensor with init 'uniform' (its layer's input count), or use init: 'zeros'");
    fanIn = typeof given === 'number' ? new Array<number>(p.shape[0]).fill(given) : Array.from(given);
    if (fanIn.length !== p.shape[0] || !fanIn.every(isPositiveInt)) throw bad(`${at}.fanIn`, `a positive integer or ${p.shape[0]} of them`, JSON.stringify(p.fanIn));
  }
  return { name: p.name, shape: [...p.shape], trainable, init, ...(fanIn ? { fanIn } : {}), ...(value ? { value } : {}), ...(p.mask !== undefined ? { mask: p.mask } : {}) };
}

/** Checks a model definition and fills its defaults; throws a TypeError that names the field. */
export function defineModel(d: ModelDefinition | ModelSpec): ModelSpec {
  if ((d as Partial<ModelSpec>)?.checked === true) return d as ModelSpec;
  if (typeof d !== 'object' || d === null) throw new TypeError('defineModel: the definition must be an object { name, image, classes, params, forward, ... }');
  if (typeof d.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(d.name)) throw bad('name', '1-64 letters, digits, ".", "_", "-"', d.name);
  const image = checkShape('image', d.image);
  const input = d.input === undefined ? image : checkShape('input', d.input);
  // Labels are stored as bytes.
  if (!isPositiveInt(d.classes) || d.classes < 2 || d.classes > 256) throw bad('classes', 'an integer in 2..256', d.classes);
  if (!Array.isArray(d.params) || d.params.length === 0) throw bad('params', 'a non-empty array of tensors');
  const names = new Set<string>();
  const params = d.params.map((p, i) => checkParam(p, i, names));
  for (const p of params) {
    if (p.mask === undefined) continue;
    const m = params.find((q) => q.name === p.mask);
    if (!m || m.trainable || !m.value!.every((v) => v === 0 || v === 1)) throw bad(`${p.name}.mask`, 'the name of a fixed tensor of 0s and 1s', p.mask);
    if (sizeOf(p.shape) % m.value!.length !== 0) throw bad(`${p.name}.mask`, `a tensor whose size divides ${sizeOf(p.shape)}`, `${p.mask} of ${m.value!.length}`);
  }
  if (!params.some((p) => p.trainable)) throw bad('params', 'holding at least one trainable tensor');
  for (const k of ['forward', 'prepare', 'loss', 'probabilities'] as const) {
    if (d[k] !== undefined && typeof d[k] !== 'function') throw bad(k, 'a function', typeof d[k]);
  }
  if (typeof d.forward !== 'function') throw bad('forward', 'a function (params, x) => scores [n, classes]');
  const predict = d.predict ?? 'argmax';
  if (predict !== 'argmax' && predict !== 'argmin') throw bad('predict', "'argmax' or 'argmin'", predict);
  const options = d.options ?? {};
  for (const [k, o] of Object.entries(options)) {
    if (!/^[a-z][A-Za-z0-9_]*$/.test(k)) throw bad(`options name ${JSON.stringify(k)}`, 'an identifier starting with a lower-case letter');
    if (!(Number.isFinite(o?.min) && Number.isFinite(o?.max) && o.min <= o.default && o.default <= o.max)) throw bad(`options.${k}`, 'finite { default, min, max } with min <= default <= max');
  }
  for (const [k, r] of Object.entries(d.augment ?? {}) as [string, { default: number; max: number }][]) {
    if (!(Number.isFinite(r?.max) && r.max >= 0 && r.default >= 0 && r.default <= r.max)) throw bad(`augment.${k}`, '{ default, max } with 0 <= default <= max');
  }
  const inputSize = sizeOf(input);
  return Object.freeze({
    name: d.name, image, input, classes: d.classes, params, forward: d.forward, predict,
    prepare: d.prepare ?? ((img: Uint8Array | Float32Array, out: Float32Array) => {
      if (img instanceof Float32Array) out.set(img.subarray(0, inputSize));
      else for (let i = 0; i < inputSize; i++) out[i] = img[i] / 255;
    }),
    loss: d.loss ?? ((scores: Tensor2D, oneHot: Tensor2D, reduction: 'mean' | 'none') => softmaxCrossEntropy(scores, oneHot, { reduction })),
    probabilities: d.probabilities ?? ((scores: ArrayLike<number>) => softmax(Array.from(scores))),
    scoreName: d.scoreName ?? 'logit',
    options, augment: d.augment ?? null, defaults: d.defaults ?? {}, checked: true as const,
  });
}

/**
 * At or above this share of "none of these" a prediction is marked unsure. (lenet5: a perfect
 * match gets at most 1 / (1 + exp(-j)), ~52% at j = 0.1, so "none" near half is normal for a
 * clean digit; 0.9 means the best penalty is above j + ln 9, far from every digit's centre.)
 */
export const UNRECOGNISED = 0.9;

/**
 * The softmax of logits z and, when `none` is finite, of one more logit for "none of these" (its
 * share is `none` in the result; 0 without it). The default `probabilities` is softmax(scores).
 */
export function softmax(z: readonly number[], none = -Infinity): { probabilities: number[]; none: number } {
  const m = Math.max(none, ...z);
  const e = z.map((v) => Math.exp(v - m));
  const eNone = Math.exp(none - m);
  const total = e.reduce((a, b) => a + b, eNone);
  return { probabilities: e.map((v) => v / total), none: eNone / total };
}

/** A conv layer's weight [out, in, k, k] and bias [out], started as PyTorch's nn.Conv2d starts them. */
export function convParams(name: string, inChannels: number, outChannels: number, kernel: number | readonly [number, number]): ParamDef[] {
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  return [
    { name: `${name}.weight`, shape: [outChannels, inChannels, kh, kw] },
    { name: `${name}.bias`, shape: [outChannels], fanIn: inChannels * kh * kw },
  ];
}

/** A dense layer's weight [out, in] and bias [out], started as PyTorch's nn.Linear starts them. */
export function denseParams(name: string, inFeatures: number, outFeatures: number): ParamDef[] {
  return [
    { name: `${name}.weight`, shape: [outFeatures, inFeatures] },
    { name: `${name}.bias`, shape: [outFeatures], fanIn: inFeatures },
  ];
}

// ---- the runtime's view of a spec -----------------------------------------------------------

/** The model's options: `given` over the defaults, each checked against its range. */
export function modelOptionsOf(spec: ModelSpec, given: Readonly<Record<string, unknown>> = {}, what = 'options.modelOptions'): Record<string, number> {
  if (typeof given !== 'object' || given === null) throw new TypeError(`${what} must be an object of name -> number`);
  const out: Record<string, number> = {};
  for (const k of Object.keys(given)) {
    if (!(k in spec.options)) {
      const known = Object.keys(spec.options);
      throw new TypeError(`${what}.${k} is not an option of model ${spec.name}; ${known.length ? `its options: ${known.join(', ')}` : 'it has none'}`);
    }
  }
  for (const [k, o] of Object.entries(spec.options)) {
    const v = given[k] ?? o.default;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < o.min || v > o.max) throw new TypeError(`${what}.${k} must be a number in [${o.min}, ${o.max}] (${o.description}), got ${String(v)}`);
    out[k] = v;
  }
  return out;
}

/** The 0/1 values of p's mask (a fixed tensor of the spec, checked by defineModel), or null. */
function maskOf(spec: ModelSpec, p: ParamSpec): Float32Array | null {
  return p.mask ? spec.params.find((q) => q.name === p.mask)!.value! : null;
}

/** Number of trainable scalars of one tensor (masked-out entries do not count). */
export function trainableCount(spec: ModelSpec, p: ParamSpec): number {
  if (!p.trainable) return 0;
  const mask = maskOf(spec, p);
  if (!mask) return sizeOf(p.shape);
  const perMaskEntry = sizeOf(p.shape) / mask.length;
  return mask.reduce((n, m) => n + (m ? perMaskEntry : 0), 0);
}

/**
 * Fills `out` with one tensor's initial value: fixed tensors get their value; trainable ones
 * their init, random draws from stream(seed, init, index of the tensor), masked entries 0.
 */
export function initParam(spec: ModelSpec, index: number, seed: number, out: Float32Array, scheme: WeightInit): void {
  const p = spec.params[index];
  if (p.value) return out.set(p.value);
  const rng = stream(seed, Purpose.init, index);
  if (p.init === 'zeros' || p.init === 'ones') out.fill(p.init === 'ones' ? 1 : 0);
  else if (typeof p.init === 'function') p.init(out, () => uniform01(rng));
  else {
    const perUnit = sizeOf(p.shape) / p.shape[0];
    for (let k = 0; k < out.length; k++) {
      const fanIn = p.fanIn![Math.floor(k / perUnit)];
      const bound = scheme === 'paper' ? 2.4 / fanIn : 1 / Math.sqrt(fanIn);
      out[k] = (2 * uniform01(rng) - 1) * bound;
    }
  }
  const mask = maskOf(spec, p);
  if (!mask) return;
  const perMaskEntry = sizeOf(p.shape) / mask.length;
  for (let k = 0; k < out.length; k++) if (mask[Math.floor(k / perMaskEntry)] === 0) out[k] = 0;
}

/** The predicted class of each sample from scores [n, K] (the model's argmax or argmin). */
export function predictions(spec: ModelSpec, scores: Float32Array | Int32Array | Uint8Array, n: number): Int32Array {
  const K = spec.classes;
  const out = new Int32Array(n);
  const better = spec.predict === 'argmin' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  for (let s = 0; s < n; s++) {
    let best = 0;
    for (let i = 1; i < K; i++) if (better(scores[s * K + i], scores[s * K + best])) best = i;
    out[s] = best;
  }
  return out;
}

/** Fixed tensors must be the model's own, and masked weights zero: what is wrong, or null. */
export function fixedMismatch(spec: ModelSpec, layout: Layout, weights: Float32Array): string | null {
  for (const p of spec.params) {
    const t = layout.tensors.find((v) => v.name === p.name)!;
    const got = weights.subarray(t.offset, t.offset + t.size);
    if (p.value && got.some((v, i) => v !== p.value![i])) return `${p.name} is fixed in a ${spec.name} model but differs from its definition`;
    const mask = maskOf(spec, p);
    if (mask) {
      const per = t.size / mask.length;
      if (got.some((v, i) => v !== 0 && mask[Math.floor(i / per)] === 0)) return `${p.name} has non-zero weights where ${p.mask} is 0`;
    }
  }
  return null;
}
