// The worker's side: loads its own copy of the model (a built-in, or the user's module: every
// thread imports it), reads weights and images in place from shared memory, and answers tasks.
// This is the only code that computes gradients, whether it runs in a Piscina thread, a Comlink
// Web Worker, or the calling thread (pools/inline.ts).
import { takeNewFallbacks } from './kernels/fallbacks.js';
import { tf, useKernels } from './tf.js';
import { fillOneHot, type Dataset } from './data.js';
import { predictions, type Augmentation, type ModelContext, type ModelSpec, type Params } from './model.js';
import { loadModel } from './models/index.js';
import { ParamStore, sizeOf } from './params.js';
import { Purpose, stream, uniform01 } from './rng.js';
import type { EvaluateResult, GradientResult, PredictResult, Result, Task, WorkerInit } from './protocol.js';
import type { Tensor2D, Tensor4D } from './tensor.js';

/** Forward samples in chunks of this many when evaluating (bounds a worker's memory). */
const EVAL_CHUNK = 500;

/**
 * Tensors over the store's weights. Zero-copy on purpose: tfjs-backend-cpu keeps a reference
 * to the Float32Array it is given, so these read the shared weights in place. That is safe
 * because the coordinator never writes weights while a step's tasks run (each task checks the
 * store version before and after), and these tensors live only inside one tidy().
 */
function paramTensors(store: ParamStore): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const t of store.layout.tensors) out[t.name] = tf.tensor(store.view(store.weights, t.name), [...t.shape]);
  return out;
}

/**
 * The mean loss over a batch and its gradient with respect to every trainable tensor, written
 * into `out` (a P-float region laid out like the weights; fixed tensors get 0).
 * x: [n, ...spec.input], oneHot: [n, K].
 */
export function computeGradient(spec: ModelSpec, ctx: ModelContext, store: ParamStore, x: Tensor4D, oneHot: Tensor2D, out: Float32Array): number {
  return tf.tidy(() => {
    const all = paramTensors(store);
    const names = store.layout.tensors.filter((t) => t.trainable).map((t) => t.name);
    const lossOf = (...trainable: tf.Tensor[]) => {
      const p: Params = { ...all, ...Object.fromEntries(names.map((n, i) => [n, trainable[i]])) };
      return spec.loss(spec.forward(p, x, ctx), oneHot, 'mean', ctx) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)(names.map((n) => all[n]));
    out.fill(0);
    names.forEach((n, i) => store.view(out, n).set(grads[i].dataSync()));
    return value.dataSync()[0];
  });
}

export interface GradientWorker {
  run(task: Task): Result;
  /** The tensors a task would build for these samples, unaugmented: x [n, ...input], one-hot y [n, K] (the caller disposes them). */
  inputs(ds: Dataset, indices: ArrayLike<number>): { x: Tensor4D; y: Tensor2D };
}

/** Sets up one thread's state (kernels, model, views of shared memory) and returns its task handler. */
export async function createWorker(init: WorkerInit): Promise<GradientWorker> {
  await useKernels(init.kernels);
  const { spec } = await loadModel(init.model);
  const ctx: ModelContext = { options: init.modelOptions };
  const store = ParamStore.attach(spec, init.params);
  const splits: Record<'train' | 'test', Dataset> = { train: init.train, test: init.test };
  const K = spec.classes;
  const imageSize = sizeOf(spec.image);
  const inputSize = sizeOf(spec.input);
  let inputs = new Float32Array(0);
  let targets = new Float32Array(0);

  /**
   * x [n, ...input] and one-hot y [n, K] for some samples, each image through the model's
   * prepare(); training samples (epoch given) augmented from stream(seed, augment, epoch, sample).
   */
  const batch = (ds: Dataset, indices: ArrayLike<number>, epoch: number | null) => {
    const n = indices.length;
    if (inputs.length < n * inputSize) inputs = new Float32Array(n * inputSize);
    if (targets.length < n * K) targets = new Float32Array(n * K);
    for (let s = 0; s < n; s++) {
      const idx = indices[s];
      if (!(idx >= 0 && idx < ds.count)) throw new RangeError(`sample index ${idx} is outside 0..${ds.count - 1}`);
      let augment: Augmentation | null = null;
      if (init.augment && epoch !== null) {
        const rng = stream(init.seed, Purpose.augment, epoch, idx);
        augment = { ranges: init.augment, random: () => uniform01(rng) };
      }
      spec.prepare(ds.images.subarray(idx * imageSize, (idx + 1) * imageSize), inputs.subarray(s * inputSize, (s + 1) * inputSize), augment);
    }
    fillOneHot(ds, indices, targets, K);
    const x = tf.tensor(inputs.subarray(0, n * inputSize), [n, ...spec.input]) as tf.Tensor4D;
    const y = tf.tensor2d(targets.subarray(0, n * K), [n, K]);
    return { x, y };
  };

  const checkVersion = (version: number, when: string) => {
    if (store.version !== version) {
      throw new Error(`weights changed ${when} a task: store is at step ${store.version}, the task is for step ${version}`);
    }
  };

  const gradient = (task: Extract<Task, { kind: 'gradient' }>): GradientResult => {
    const started = performance.now();
    checkVersion(task.version, 'before');
    const out = store.slot(task.slot);
    const { x, y } = batch(splits.train, task.indices, task.epoch);
    try {
      const loss = computeGradient(spec, ctx, store, x, y, out);
      checkVersion(task.version, 'during');
      const fallbacks = takeNewFallbacks();
      return {
        kind: 'gradient', slot: task.slot, loss, count: task.indices.length, computeMs: performance.now() - started,
        ...(fallbacks.length ? { fallbacks } : {}),
      };
    } finally {
      x.dispose();
      y.dispose();
    }
  };

  /** Scores [n, K] and per-sample losses of some samples, forward only. */
  const score = (ds: Dataset, indices: ArrayLike<number>) => {
    const { x, y } = batch(ds, indices, null);
    try {
      return tf.tidy(() => {
        const scores = spec.forward(paramTensors(store), x, ctx);
        return { scores: scores.dataSync() as Float32Array, losses: spec.loss(scores, y, 'none', ctx).dataSync() as Float32Array };
      });
    } finally {
      x.dispose();
      y.dispose();
    }
  };

  const evaluate = (task: Extract<Task, { kind: 'evaluate' }>): EvaluateResult => {
    checkVersion(task.version, 'before');
    const ds = splits[task.split];
    if (!(task.start >= 0 && task.end <= ds.count && task.start < task.end)) {
      throw new RangeError(`evaluate range ${task.start}..${task.end} is outside the ${task.split} set (0..${ds.count})`);
    }
    let errors = 0;
    let lossSum = 0;
    for (let s = task.start; s < task.end; s += EVAL_CHUNK) {
      const indices = Int32Array.from({ length: Math.min(EVAL_CHUNK, task.end - s) }, (_, k) => s + k);
      const { scores, losses } = score(ds, indices);
      const pred = predictions(spec, scores, indices.length);
      indices.forEach((idx, k) => {
        if (pred[k] !== ds.labels[idx]) errors++;
        lossSum += losses[k];
      });
    }
    checkVersion(task.version, 'during');
    return { kind: 'evaluate', count: task.end - task.start, errors, lossSum };
  };

  const predict = (task: Extract<Task, { kind: 'predict' }>): PredictResult => {
    checkVersion(task.version, 'before');
    const n = task.images.length / imageSize;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`predict needs whole ${spec.image.join('x')} images, got ${task.images.length} values`);
    const ds: Dataset = { images: task.images, labels: new Uint8Array(n), count: n, shape: spec.image, source: 'predict' };
    const { scores } = score(ds, Int32Array.from({ length: n }, (_, i) => i));
    return { kind: 'predict', scores, predicted: predictions(spec, scores, n) };
  };

  return {
    inputs: (ds, indices) => batch(ds, indices, null),
    run(task: Task): Result {
      switch (task.kind) {
        case 'gradient':
          return gradient(task);
        case 'evaluate':
          return evaluate(task);
        case 'predict':
          return predict(task);
        default:
          throw new Error(`unknown task kind ${JSON.stringify((task as { kind: unknown }).kind)}`);
      }
    },
  };
}

/** What a message-based worker (Comlink) exposes: init once, then run tasks. */
export interface WorkerApi {
  init(init: WorkerInit): Promise<void>;
  run(task: Task): Result;
}

export function workerApi(): WorkerApi {
  let worker: GradientWorker | null = null;
  return {
    async init(init) {
      if (worker) throw new Error('this worker is already initialised');
      worker = await createWorker(init);
    },
    run(task) {
      if (!worker) throw new Error('task before init: the pool must call init() first');
      return worker.run(task);
    },
  };
}
