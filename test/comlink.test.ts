// The Comlink pool (the browser's) on Node worker_threads: same coordinator, same arithmetic.
import { createHash } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { fileURLToPath } from 'node:url';
import { comlinkNodePool, createComlinkNodePool } from '../src/pools/comlink-node.js';
import { piscinaPool } from '../src/pools/piscina.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

test.each(['lenet5', 'lenet5-softmax'] as const)('%s: the Comlink pool and the Piscina pool, same seed and S, give bitwise-identical weights after 20 steps', async (model) => {
  const hashes: string[] = [];
  for (const pool of [comlinkNodePool, piscinaPool]) {
    const t = await createTrainer({ model, data: mnist, limit: 2560, workers: 2, shards: 2, seed: 5, pool });
    open.push(t);
    for await (const _ of t.train({ steps: 20 })) void _;
    expect(t.step).toBe(20);
    hashes.push(sha(t.store.weights));
    expect((await t.evaluate()).count).toBe(10_000);
  }
  expect(hashes[0]).toBe(hashes[1]);
});

test.each([
  ['exits', 'exiting-comlink-worker.mjs', /step 2 failed: worker exited with code: 4/],
  ['throws', 'throwing-comlink-worker.mjs', /step 2 failed: injected fault in a comlink worker/],
])('a Comlink worker thread that %s fails the step promptly instead of hanging', async (_, file, message) => {
  const filename = fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));
  const t = await createTrainer({ model: 'lenet5-softmax', data: mnist, limit: 640, workers: 2, seed: 1, pool: createComlinkNodePool({ filename }) });
  open.push(t);
  await t.runStep();
  const started = Date.now();
  await expect(t.runStep()).rejects.toThrow(message);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(t.step).toBe(1);
});
