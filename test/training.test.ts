// Does training learn? A short single-process run for both models, and one epoch of the full
// MNIST on two worker threads through the public API.
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { inlinePool } from '../src/pools/inline.js';
import type { EpochEvent, StepEvent, TrainEvent } from '../src/coordinator.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function events(t: Trainer, epochs: number): Promise<TrainEvent[]> {
  const out: TrainEvent[] = [];
  for await (const ev of t.train({ epochs })) out.push(ev);
  return out;
}

describe('single process (inline pool): 2,000 samples, batch 16, 4 epochs (500 steps)', () => {
  // The paper's initialisation (lenet5's default) is small, so lenet5 sits on a plateau for a few
  // hundred steps before it learns. On so little data its default rate (0.01, tuned for batch 64
  // on the full set) overshoots; 0.003 does not. lenet5-softmax keeps its default 0.05.
  test.each([
    ['lenet5', 0.003],
    ['lenet5-softmax', 0.05],
  ] as const)('%s (lr %d) lowers the training loss and beats chance on the test set', async (model, learningRate) => {
    const t = await createTrainer({ model, learningRate, data: mnist, limit: 2000, batchSize: 16, workers: 1, pool: inlinePool, augment: false, seed: 1 });
    open.push(t);
    const before = await t.evaluate('train');
    const evs = await events(t, 4);
    const steps = evs.filter((e): e is StepEvent => e.type === 'step');
    const epochs = evs.filter((e): e is EpochEvent => e.type === 'epoch');
    expect(steps.length).toBe(500);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    const after = await t.evaluate('train');
    expect(after.loss).toBeLessThan(0.5 * before.loss);
    expect(epochs[3].trainLoss).toBeLessThan(0.5 * epochs[0].trainLoss);
    // Chance is 90% error.
    expect(epochs[3].testError).toBeLessThan(0.3);
    console.log(`${model}: train loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}, test error by epoch ${epochs.map((e) => (100 * e.testError).toFixed(2) + '%').join(', ')}`);
  });
});

test('one epoch of the full MNIST on 2 worker threads: lenet5-softmax well under 10% test error', async () => {
  const t = await createTrainer({ model: 'lenet5-softmax', data: mnist, workers: 2, seed: 1 });
  open.push(t);
  const started = performance.now();
  const evs = await events(t, 1);
  const done = evs.at(-1)!;
  expect(done).toMatchObject({ type: 'done', step: 938, reason: 'completed' });
  expect(done.type === 'done' && done.testError).toBeLessThan(0.05);
  console.log(`1 epoch lenet5-softmax, 2 workers: test error ${done.type === 'done' && (100 * done.testError).toFixed(2)}%, ${((performance.now() - started) / 1000).toFixed(1)} s`);
}, 600_000);

describe('lenet5-softmax with its defaults learns within its first 200 steps (full MNIST, batch 64, 2 workers)', () => {
  // PyTorch's initialisation (its default) against the paper's: with the paper's, the softmax head
  // sees so small a signal that the run stays at chance (loss ln 10 = 2.30) for ~550 steps.
  test.each([
    [undefined, 0.2],
    ['paper', 0.85],
  ] as const)('weightInit %s: test error after 200 steps, against %d', async (weightInit, bound) => {
    const t = await createTrainer({ model: 'lenet5-softmax', data: mnist, workers: 2, ...(weightInit ? { weightInit } : {}) });
    open.push(t);
    expect(t.options.weightInit).toBe(weightInit ?? 'pytorch');
    for await (const _ of t.train({ steps: 200 })) void _;
    const { error } = await t.evaluate();
    console.log(`lenet5-softmax, weightInit ${t.options.weightInit}: test error ${(100 * error).toFixed(2)}% after 200 steps`);
    if (weightInit) expect(error).toBeGreaterThan(bound); // still at chance
    else expect(error).toBeLessThan(bound);
  });
});
