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

describe('single process (inline pool): 2,000 samples, batch 32, 3 epochs (189 steps)', () => {
  test.each(['lenet5', 'lenet5-softmax'] as const)('%s lowers the training loss and beats chance on the test set', async (model) => {
    const t = await createTrainer({ model, data: mnist, limit: 2000, batchSize: 32, workers: 1, pool: inlinePool, augment: false, seed: 1 });
    open.push(t);
    const before = await t.evaluate('train');
    const evs = await events(t, 3);
    const steps = evs.filter((e): e is StepEvent => e.type === 'step');
    const epochs = evs.filter((e): e is EpochEvent => e.type === 'epoch');
    expect(steps.length).toBe(189);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const after = await t.evaluate('train');
    expect(after.loss).toBeLessThan(0.5 * before.loss);
    expect(epochs[2].trainLoss).toBeLessThan(epochs[0].trainLoss);
    // Chance is 90% error; a few hundred steps on 2,000 samples get far below it.
    expect(epochs[2].testError).toBeLessThan(0.2);
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
