// Stock kernels on the fast backend: LeNet-5's training step runs none; a case no fast kernel
// takes is counted by kernel and shapes, and reaches the trainer's step event once.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { tf, useKernels } from '../src/tf.js';
import { fallbacks, resetFallbacks, takeNewFallbacks } from '../src/kernels/fallbacks.js';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { inlinePool } from '../src/pools/inline.js';
import { loadMnist } from '../src/mnist-files.js';
import { avgPool2d, conv2d, maxPool2d } from '../src/ops/index.js';

const mnist = loadMnist();
const open: Trainer[] = [];
beforeEach(async () => {
  await useKernels('fast');
  resetFallbacks();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const ones = (shape: number[]) => tf.ones(shape);

describe.each(['lenet5', 'lenet5-softmax'] as const)('%s', (model) => {
  test('training steps and an evaluation run no stock kernel', async () => {
    const t = await createTrainer({ model, data: mnist, limit: 640, workers: 1, shards: 2, pool: inlinePool });
    open.push(t);
    const events = [];
    for await (const ev of t.train({ steps: 3 })) events.push(ev);
    await t.evaluate();
    expect(events.filter((e) => e.type === 'step')).toHaveLength(3);
    expect(fallbacks()).toEqual([]);
    expect(events.some((e) => e.type === 'step' && e.fallbacks)).toBe(false);
  });
});

test('strided, padded convolutions, the conv2d layer op, max and average pooling (tfjs ops and layer ops), relu and sigmoid run no stock kernel', () => {
  const x = ones([2, 9, 9, 3]);
  tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), 3, 2, 'same')))([x, ones([3, 3, 3, 4])]);
  tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, w as tf.Tensor4D, null, { stride: 2, padding: 'same', activation: 'relu' })))([x, ones([4, 3, 3, 3])]);
  tf.grad((a: tf.Tensor) => tf.sum(tf.sigmoid(tf.relu(a))))(x);
  tf.grad((a: tf.Tensor) => tf.sum(tf.avgPool(a as tf.Tensor4D, 9, 1, 'valid')))(x); // global average pooling
  // The pooling layer ops: LeNet-5's 2x2, other windows and strides, 'same' max pooling.
  tf.grad((a: tf.Tensor) => tf.sum(avgPool2d(a as tf.Tensor4D, 2)))(ones([2, 8, 8, 3]));
  tf.grad((a: tf.Tensor) => tf.sum(avgPool2d(a as tf.Tensor4D, 3, { stride: 2 })))(x);
  tf.grad((a: tf.Tensor) => tf.sum(maxPool2d(a as tf.Tensor4D, 3, { stride: 2, padding: 'same' })))(x);
  tf.grad((a: tf.Tensor) => tf.sum(maxPool2d(a as tf.Tensor4D, [2, 3])))(x);
  expect(fallbacks()).toEqual([]);
});

test('a case no fast kernel takes is counted by kernel and input shapes, and reported once', () => {
  const dilated = () => tf.conv2d(ones([1, 8, 8, 2]) as tf.Tensor4D, ones([3, 3, 2, 4]) as tf.Tensor4D, 1, 'valid', 'NHWC', 2);
  dilated();
  dilated();
  expect(fallbacks()).toEqual([{ kernel: 'Conv2D [1,8,8,2] [3,3,2,4]', calls: 2 }]);
  expect(takeNewFallbacks()).toEqual(['Conv2D [1,8,8,2] [3,3,2,4]']);
  dilated();
  expect(takeNewFallbacks()).toEqual([]);
  tf.elu(ones([5])); // no fast kernel: a stock one by name
  expect(fallbacks().map((f) => f.kernel)).toContain('Elu [5]');
});

test("the trainer's step event names a stock kernel the first time a worker ran it", async () => {
  const t = await createTrainer({ model: 'lenet5-softmax', data: mnist, limit: 640, workers: 1, pool: inlinePool });
  open.push(t);
  // The inline pool's worker is this thread: a stock kernel run here is its to report.
  tf.elu(ones([7]));
  const first = await t.runStep();
  expect(first.fallbacks).toEqual(['Elu [7]']);
  tf.elu(ones([7]));
  const second = await t.runStep();
  expect(second.fallbacks).toBeUndefined();
});
