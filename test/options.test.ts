// Options are checked once, at the entry, with an error that names the option and what it must be.
import { describe, expect, test } from 'vitest';
import { resolveOptions, DEFAULTS } from '../src/options.js';
import { createTrainer } from '../src/trainer.js';
import { bench, defaultWorkerCounts, type BenchOptions } from '../src/bench.js';
import { profileTaskSizes, taskSizes } from '../src/profile.js';
import type { Mnist } from '../src/data.js';
import { DEFAULT_AUGMENT } from '../src/models/lenet5-input.js';

describe('resolveOptions', () => {
  test('fills the documented defaults', () => {
    const o = resolveOptions({}, 4);
    expect(o).toMatchObject({ model: 'lenet5', workers: 4, shards: 4, batchSize: 64, learningRate: 0.01, lrDecay: 0.5, lrDecayEvery: 3, momentum: 0.9, seed: 1, shuffle: true, epochs: DEFAULTS.epochs, limit: null, kernels: 'fast' });
    expect(o.augment).toEqual(DEFAULT_AUGMENT);
    expect(resolveOptions({ model: 'lenet5-softmax' }, 1).learningRate).toBe(0.05);
    // S defaults to the workers, but never above the batch.
    expect(resolveOptions({ batchSize: 2 }, 8).shards).toBe(2);
  });

  test("a checkpoint's settings fill what is not given; given options win", () => {
    const o = resolveOptions({ learningRate: 0.002 }, 2, { model: 'lenet5-softmax', seed: 9, learningRate: 0.3, augment: null, shards: 3 });
    expect(o).toMatchObject({ model: 'lenet5-softmax', seed: 9, learningRate: 0.002, augment: null, shards: 3 });
    expect(() => resolveOptions({}, 2, { augment: { maxShift: 99 } as never })).toThrow(/options.augment.maxShift must be a number in \[0, 8\], got 99/);
  });

  test.each([
    [{ batchSize: 0 }, /options.batchSize must be an integer in 1..65536, got 0/],
    [{ workers: 0 }, /options.workers must be an integer in 1..256, got 0/],
    [{ shards: 65 }, /options.shards \(65\) must not exceed options.batchSize \(64\)/],
    [{ model: 'lenet7' }, /options.model "lenet7" is not a built-in model \(lenet5, lenet5-softmax\)/],
    [{ model: './my-cnn.js' }, /options.model "\.\/my-cnn.js" is not a built-in model .*a model module must be loaded first: createTrainer does/],
    [{ modelOptions: { j: -1 } }, /options.modelOptions.j must be a number in \[0, 1000\]/],
    [{ model: 'lenet5-softmax', augment: { maxTilt: 1 } }, /options.augment.maxTilt is not a range of model lenet5-softmax; its ranges: maxShift, maxScale, maxSqueeze, maxShear/],
    [{ learningRate: -1 }, /options.learningRate must be a number in \(0, 10\], got -1/],
    [{ momentum: 1 }, /options.momentum must be a number in \[0, 0.999\], got 1/],
    [{ seed: 1.5 }, /options.seed must be an integer in 0..4294967295, got 1.5/],
    [{ kernels: 'gpu' }, /options.kernels must be one of fast, stock, got "gpu"/],
    [{ augment: { maxScale: 2 } }, /options.augment.maxScale must be a number in \[0, 0.5\], got 2/],
    [{ batchsize: 32 }, /options.batchsize is not an option; known: model, modelOptions, workers/],
    [{ data: {} }, /options.data.train must be a dataset \{ images, labels, count, shape \}/],
    [{ data: { train: { images: new Uint8Array(784), labels: Uint8Array.of(1), count: 1 }, test: {} } }, /options.data.train.shape must be one image's \[height, width, channels\], e.g. \[28, 28, 1\], got undefined/],
    [{ data: { train: { images: new Uint8Array(784), labels: Uint8Array.of(1), count: 1, shape: [28, 28] }, test: {} } }, /options.data.train.shape must be one image's .*got \[28,28\]/],
    // 32x32 images are not read as 28x28 ones
    [{ data: { train: { images: new Uint8Array(3 * 1024), labels: new Uint8Array(3), count: 3, shape: [28, 28, 1] }, test: {} } },
      /options.data.train.images has 3072 values for 3 images \(1024 a sample\) but options.data.train.shape \[28, 28, 1\] says 784 a sample: give count x 28 x 28 x 1 = 2352 values, or the shape they have/],
    [{ data: { train: { images: new Uint8Array(2 * 784), labels: new Uint8Array(3), count: 2, shape: [28, 28, 1] }, test: {} } }, /options.data.train.labels must be a Uint8Array of count = 2 labels, got 3/],
    [{ pool: 'piscina' }, /options.pool must be a pool factory/],
  ])('%j is refused: %s', (options, message) => {
    expect(() => resolveOptions(options as never, 2)).toThrow(message);
  });

  test('createTrainer refuses before starting any thread', async () => {
    await expect(createTrainer({ batchSize: 0 })).rejects.toThrow(TypeError);
    await expect(createTrainer({ init: 'no/such/checkpoint.safetensors' })).rejects.toThrow(/checkpoint no\/such\/checkpoint.safetensors does not exist/);
  });
});

describe('bench options', () => {
  test.each([
    [{ steps: 0 }, /^options\.steps must be an integer >= 1, got 0$/],
    [{ runs: 2.5 }, /^options\.runs must be an integer >= 1, got 2\.5$/],
    [{ warmup: -1 }, /^options\.warmup must be an integer >= 0, got -1$/],
    [{ batchSize: 0 }, /^options\.batchSize must be an integer >= 1, got 0$/],
    [{ workers: [] }, /^options\.workers must be a non-empty list of positive integers$/],
    [{ workers: [1, 0] }, /^options\.workers must be a non-empty list of positive integers$/],
    [{ models: ['lenet6'] }, /^options\.models "lenet6" is not a built-in model \(lenet5, lenet5-softmax\); for a model file give its path, e\.g\. \.\/lenet6\.js$/],
    [{ models: [] }, /^options\.models must be a non-empty list of built-in model names or model module paths$/],
    [{ kernels: 'gpu' }, /^options\.kernels must be one of fast, stock$/],
    [{ augment: 'no' }, /^options\.augment must be true or false, got no$/],
  ])('bench(%j) is refused before any work', async (o, message) => {
    await expect(bench(o as BenchOptions)).rejects.toThrow(message);
  });

  test('default worker counts: 1, 2, 4, ... and the machine\'s parallelism', () => {
    expect(defaultWorkerCounts(1)).toEqual([1]);
    expect(defaultWorkerCounts(2)).toEqual([1, 2]);
    expect(defaultWorkerCounts(6)).toEqual([1, 2, 4, 6]);
    expect(defaultWorkerCounts(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  test('the profile times tasks of powers of two below the batch, both halves of the batch and the batch', () => {
    expect(taskSizes(1)).toEqual([1]);
    expect(taskSizes(8)).toEqual([1, 2, 4, 8]);
    expect(taskSizes(3)).toEqual([1, 2, 3]);
    expect(taskSizes(10)).toEqual([1, 2, 4, 5, 8, 10]);
    expect(taskSizes(65)).toEqual([1, 2, 4, 8, 16, 32, 33, 64, 65]);
  });

  test.each([
    [0, 10, 5, /^batch must be an integer in 1\.\.100, got 0$/],
    [101, 10, 5, /^batch must be an integer in 1\.\.100, got 101$/],
    [8, -1, 5, /^warmup must be an integer >= 0, got -1$/],
    [8, 10, 0, /^rounds must be an integer >= 1, got 0$/],
  ])('profileTaskSizes(batch %d, warmup %d, rounds %d) is refused before any work', async (batch, warmup, rounds, message) => {
    const data = { train: { count: 100 } } as unknown as Mnist;
    await expect(profileTaskSizes('lenet5', 'fast', data, batch, warmup, rounds)).rejects.toThrow(message);
  });
});
