// The worker's side: builds its own model from the spec, reads weights and images in place from
// shared memory, and answers tasks. This is the only code that computes gradients, whether it
// runs in a Piscina thread, a Comlink Web Worker, or the calling thread (pools/inline.ts).
import { takeNewFallbacks } from './kernels/fallbacks.js';
import { tf, useKernels } from './tf.js';
import { fillInputs, fillOneHot, IMAGE_SIDE, INPUT_SIDE, NUM_CLASSES, type Dataset } from './data.js';
import { distortInto, distortionFor, type AugmentOptions } from './augment.js';
import { createModel, forward, loss, predictions, type ModelSpec, type Params } from './model.js';
import { ParamStore } from './params.js';
import type { EvaluateResult, GradientResult, PredictResult, Result, Task, WorkerInit } from './protocol.js';

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
 * x: [n, 32, 32, 1], oneHot: [n, 10].
 */
export function computeGradient(spec: ModelSpec, store: ParamStore, x: tf.Tensor4D, oneHot: tf.Tensor2D, out: Float32Array): number {
  return tf.tidy(() => {
    const all = paramTensors(store);
    const names = store.layout.tensors.filter((t) => t.trainable).map((t) => t.name);
    const lossOf = (...trainable: tf.Tensor[]) => {
      const p: Params = { ...all, ...Object.fromEntries(names.map((n, i) => [n, trainable[i]])) };
      return loss(spec, forward(spec, p, x), oneHot, 'mean') as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)(names.map((n) => all[n]));
    out.fill(0);
    names.forEach((n, i) => store.view(out, n).set(grads[i].dataSync()));
    return value.dataSync()[0];
  });
}

export interface GradientWorker {
  run(task: Task): Result;
}

/** Sets up one thread's state (kernels, model, views of shared memory) and returns its task handler. */
export async function createWorker(init: WorkerInit): Promise<GradientWorker> {
  await useKernels(init.kernels);
  const spec = createModel(init.model, { j: init.j });
  const store = ParamStore.attach(spec, init.params);
  const augment = init.augment;
  const splits: Record<'train' | 'test', Dataset> = { train: init.train, test: init.test };
  let inputs = new Float32Array(0);
  let targets = new Float32Array(0);

  const batch = (ds: Dataset, indices: ArrayLike<number>, epoch: number | null, aug: AugmentOptions | null) => {
    const n = indices.length;
    if (inputs.length < n * INPUT_SIDE * INPUT_SIDE) inputs = new Float32Array(n * INPUT_SIDE * INPUT_SIDE);
    if (targets.length < n * NUM_CLASSES) targets = new Float32Array(n * NUM_CLASSES);
    const resample =
      aug && epoch !== null ? (src: Uint8Array, dst: Float32Array, sample: number) => distortInto(src, dst, distortionFor(aug, init.seed, epoch, sample)) : undefined;
    fillInputs(ds, indices, inputs, resample);
    fillOneHot(ds, indices, targets);
    const x = tf.tensor4d(inputs.subarray(0, n * INPUT_SIDE * INPUT_SIDE), [n, INPUT_SIDE, INPUT_SIDE, 1]);
    const y = tf.tensor2d(targets.subarray(0, n * NUM_CLASSES), [n, NUM_CLASSES]);
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
    const { x, y } = batch(splits.train, task.indices, task.epoch, augment);
    try {
      const loss = computeGradient(spec, store, x, y, out);
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

  /** Scores [n, 10] and per-sample losses of some samples, forward only. */
  const score = (ds: Dataset, indices: ArrayLike<number>) => {
    const { x, y } = batch(ds, indices, null, null);
    try {
      return tf.tidy(() => {
        const scores = forward(spec, paramTensors(store), x);
        return { scores: scores.dataSync() as Float32Array, losses: loss(spec, scores, y, 'none').dataSync() as Float32Array };
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
    const n = task.images.length / (IMAGE_SIDE * IMAGE_SIDE);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`predict needs whole 28x28 images, got ${task.images.length} bytes`);
    const ds: Dataset = { images: task.images, labels: new Uint8Array(n), count: n, source: 'predict' };
    const { scores } = score(ds, Int32Array.from({ length: n }, (_, i) => i));
    return { kind: 'predict', scores, predicted: predictions(spec, scores, n) };
  };

  return {
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
