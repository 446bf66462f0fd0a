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
import type { EvaluateResult, GradientResult, PredictResult, Result, StepsResult, Task, WorkerInit } from './protocol.js';
import type { Tensor2D, Tensor4D } from './tensor.js';
import { StepControl } from './step-control.js';
import { epochOrder, runSteps } from './steps.js';
import { initWasm } from './kernels/wasm.js';
import { readInto } from './kernels/backend.js';

/** Forward samples in chunks of this many when evaluating (bounds a worker's memory). */
const EVAL_CHUNK = 500;

/**
 * Tensors over the store's weights at `version`. tfjs-backend-cpu keeps a reference to the
 * Float32Array it is given, so these read the shared weights in place (the fast backend copies
 * them into its wasm memory once instead, for its kernels). That is safe because nothing writes
 * that copy while a task reads it (a step's update writes the other copy; tasks check the store
 * version before and after), and these tensors live only inside one tidy().
 */
function paramTensors(store: ParamStore, version = store.version): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  const weights = store.weightsAt(version);
  for (const t of store.layout.tensors) out[t.name] = tf.tensor(store.view(weights, t.name), [...t.shape]);
  return out;
}

/**
 * The mean loss over a batch and its gradient with respect to every trainable tensor, written
 * into `out` (a P-float region laid out like the weights; fixed tensors get 0).
 * x: [n, ...spec.input], oneHot: [n, K].
 */
export function computeGradient(spec: ModelSpec, ctx: ModelContext, store: ParamStore, x: Tensor4D, oneHot: Tensor2D, out: Float32Array, version = store.version): number {
  return tf.tidy(() => {
    const all = paramTensors(store, version);
    const names = store.layout.tensors.filter((t) => t.trainable).map((t) => t.name);
    const lossOf = (...trainable: tf.Tensor[]) => {
      const p: Params = { ...all, ...Object.fromEntries(names.map((n, i) => [n, trainable[i]])) };
      return spec.loss(spec.forward(p, x, ctx), oneHot, 'mean', ctx) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)(names.map((n) => all[n]));
    // Every trainable tensor's view is written whole; only the fixed ones need their zeros.
    for (const t of store.layout.tensors) if (!t.trainable) store.view(out, t.name).fill(0);
    names.forEach((n, i) => readInto(grads[i], store.view(out, n)));
    return value.dataSync()[0];
  });
}

export interface GradientWorker {
  run(task: Task): Result;
  /** The tensors a task would build for these samples, unaugmented: x [n, ...input], one-hot y [n, K] (the caller disposes them). */
  inputs(ds: Dataset, indices: ArrayLike<number>): { x: Tensor4D; y: Tensor2D };
}

/** Test hooks around a micro-batch: fault injection (test/fixtures/fault.mjs), delays, poisoned gradients. */
export interface WorkerHooks {
  /** Called before micro-batch `slot` of the step from `version` is computed. */
  beforeMicroBatch?(version: number, slot: number): void;
  /** Called with the micro-batch's gradient (its slot) once it is written. */
  afterMicroBatch?(version: number, slot: number, gradient: Float32Array): void;
}

/** Sets up one thread's state (kernels, model, views of shared memory) and returns its task handler. */
export async function createWorker(init: WorkerInit, hooks: WorkerHooks = {}): Promise<GradientWorker> {
  await useKernels(init.kernels);
  // The update of a steps task runs in WebAssembly when it loads (the stock kernels do not need
  // it), else in JS: the same bits.
  await initWasm().catch(() => undefined);
  const { spec } = await loadModel(init.model);
  const ctx: ModelContext = { options: init.modelOptions };
  const store = ParamStore.attach(spec, init.params, init.state);
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

  /** Micro-batch `slot` of the step from `version`: its gradient into the slot; returns its mean loss. */
  const microBatch = (version: number, slot: number, epoch: number, indices: ArrayLike<number>): number => {
    hooks.beforeMicroBatch?.(version, slot);
    const { x, y } = batch(splits.train, indices, epoch);
    try {
      const loss = computeGradient(spec, ctx, store, x, y, store.slot(slot), version);
      hooks.afterMicroBatch?.(version, slot, store.slot(slot));
      return loss;
    } finally {
      x.dispose();
      y.dispose();
    }
  };

  const gradient = (task: Extract<Task, { kind: 'gradient' }>): GradientResult => {
    const started = performance.now();
    checkVersion(task.version, 'before');
    const loss = microBatch(task.version, task.slot, task.epoch, task.indices);
    checkVersion(task.version, 'during');
    const fallbacks = takeNewFallbacks();
    return {
      kind: 'gradient', slot: task.slot, loss, count: task.indices.length, computeMs: performance.now() - started,
      ...(fallbacks.length ? { fallbacks } : {}),
    };
  };

  const control = init.control ? new StepControl(init.control) : null;
  let order: { epoch: number; shuffle: boolean; order: Int32Array } | null = null;
  const stepWorker = control && {
    store,
    control,
    order(epoch: number, shuffle: boolean) {
      if (order?.epoch !== epoch || order.shuffle !== shuffle) order = { epoch, shuffle, order: epochOrder(splits.train.count, init.seed, epoch, shuffle) };
      return order.order;
    },
    microBatch,
  };

  const steps = (task: Extract<Task, { kind: 'steps' }>): StepsResult => {
    if (!stepWorker) throw new Error('a steps task for a worker started without a control block');
    checkVersion(task.version, 'before');
    runSteps(task, stepWorker);
    const fallbacks = takeNewFallbacks();
    return { kind: 'steps', ...(fallbacks.length ? { fallbacks } : {}) };
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
        case 'steps':
          return steps(task);
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

export function workerApi(hooks: WorkerHooks = {}): WorkerApi {
  let worker: GradientWorker | null = null;
  return {
    async init(init) {
      if (worker) throw new Error('this worker is already initialised');
      worker = await createWorker(init, hooks);
    },
    run(task) {
      if (!worker) throw new Error('task before init: the pool must call init() first');
      return worker.run(task);
    },
  };
}
