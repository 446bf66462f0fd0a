// Small builders shared by tests: a parameter store with initial weights, and a batch as tensors.
import { tf } from '../../src/tf.js';
import { fillOneHot, type Dataset } from '../../src/data.js';
import { initParam, type ModelSpec } from '../../src/model.js';
import { builtInModel } from '../../src/models/index.js';
import { ParamStore, sizeOf } from '../../src/params.js';

/** A built-in model's spec by name. */
export function specOf(name: string): ModelSpec {
  const spec = builtInModel(name);
  if (!spec) throw new Error(`no built-in model ${name}`);
  return spec;
}

/** A store with the paper's initial weights for `seed`, trainable tensors multiplied by `scale`. */
export function initialStore(model: string | ModelSpec, seed = 1, scale = 1, shards = 1): { spec: ModelSpec; store: ParamStore } {
  const spec = typeof model === 'string' ? specOf(model) : model;
  const store = ParamStore.create(spec, shards);
  store.layout.tensors.forEach((t, i) => {
    const v = store.view(store.weights, t.name);
    initParam(spec, i, seed, v, 'paper');
    if (t.trainable) for (let k = 0; k < v.length; k++) v[k] *= scale;
  });
  return { spec, store };
}

export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor2D;
  inputs: Float32Array;
  labels: number[];
}

/** Samples as the model's prepare() makes them (no augmentation): x [n, ...input], one-hot y [n, K]. */
export function batchOf(ds: Dataset, indices: number[], spec: ModelSpec = specOf('lenet5')): Batch {
  const per = sizeOf(spec.input);
  const img = sizeOf(spec.image);
  const inputs = new Float32Array(indices.length * per);
  indices.forEach((idx, s) => spec.prepare(ds.images.subarray(idx * img, (idx + 1) * img), inputs.subarray(s * per, (s + 1) * per), null));
  const targets = new Float32Array(indices.length * spec.classes);
  fillOneHot(ds, indices, targets, spec.classes);
  return {
    x: tf.tensor(inputs, [indices.length, ...spec.input]) as tf.Tensor4D,
    y: tf.tensor2d(targets, [indices.length, spec.classes]),
    inputs,
    labels: indices.map((i) => ds.labels[i]),
  };
}
