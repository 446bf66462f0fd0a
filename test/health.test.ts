// Training health: a run that is not learning says so, in the events and in the terminal, with
// the learning rate to change; a run that learns says nothing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import type { DoneEvent, EpochEvent, TrainEvent } from '../src/coordinator.js';
import { HEALTH_MIN_STEPS, learningWarning } from '../src/health.js';
import { tempDir } from './helpers/tmp.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function epochOf(learningRate: number): Promise<{ epoch: EpochEvent; done: DoneEvent }> {
  const t = await createTrainer({ model: 'lenet5', data: mnist, limit: 6400, workers: 2, learningRate }); // 100 steps an epoch
  open.push(t);
  const events: TrainEvent[] = [];
  for await (const ev of t.train({ epochs: 1 })) events.push(ev);
  return { epoch: events.find((e): e is EpochEvent => e.type === 'epoch')!, done: events.at(-1) as DoneEvent };
}

test('lr 10 saturates the tanh units: the epoch and done events say the model is not learning and name the learning rate', async () => {
  const { epoch, done } = await epochOf(10);
  expect(epoch.testError).toBeGreaterThan(0.8);
  expect(Number.isFinite(epoch.trainLoss)).toBe(true); // no NaN to stop at: only the warning tells
  expect(epoch.warning).toMatch(/^the model is not learning: test error \d+\.\d% after 100 steps is near chance \(90%\); lower the learning rate \(now 10; try 1\), or raise it if it is already small$/);
  expect(done.warning).toBe(epoch.warning);
});

test('a run that learns has no warning', async () => {
  const { epoch, done } = await epochOf(0.01);
  expect(epoch.testError).toBeLessThan(0.5);
  expect(epoch.warning).toBeUndefined();
  expect(done.warning).toBeUndefined();
});

test('no verdict before the first steps are through, nor for an error well below chance', () => {
  expect(learningWarning(HEALTH_MIN_STEPS - 1, 0.9, { learningRate: 0.05 }, 10)).toBeNull();
  expect(learningWarning(HEALTH_MIN_STEPS, 0.79, { learningRate: 0.05 }, 10)).toBeNull();
  expect(learningWarning(HEALTH_MIN_STEPS, 0.81, { learningRate: 0.05 }, 10)).toMatch(/try 0.005/);
});

test('lenet5 train prints the warning once on stderr and still exits 0', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'train', '--lr', '10', '--limit', '6400', '--epochs', '1', '--out', join(tempDir('health'), 'run')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr.match(/^lenet5: warning: the model is not learning: .* lower the learning rate \(now 10; try 1\)/gm)).toHaveLength(1);
});
