// Small builders shared by tests: a parameter store with initial weights, and a batch as tensors.
import { tf } from '../../src/tf.js';
import { fillInputs, fillOneHot, INPUT_SIDE, NUM_CLASSES, type Dataset } from '../../src/data.js';
import { createModel, initParam, type ModelName, type ModelSpec } from '../../src/model.js';
import { ParamStore } from '../../src/params.js';

/** A store with the paper's initial weights for `seed`, trainable tensors multiplied by `scale`. */
export function initialStore(model: ModelName, seed = 1, scale = 1, shards = 1): { spec: ModelSpec; store: ParamStore } {
  const spec = createModel(model);
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

export function batchOf(ds: Dataset, indices: number[]): Batch {
  const inputs = new Float32Array(indices.length * INPUT_SIDE * INPUT_SIDE);
  const targets = new Float32Array(indices.length * NUM_CLASSES);
  fillInputs(ds, indices, inputs);
  fillOneHot(ds, indices, targets);
  return {
    x: tf.tensor4d(inputs, [indices.length, INPUT_SIDE, INPUT_SIDE, 1]),
    y: tf.tensor2d(targets, [indices.length, NUM_CLASSES]),
    inputs,
    labels: indices.map((i) => ds.labels[i]),
  };
}
