// The Comlink pool (the browser's) on Node worker_threads: same coordinator, same arithmetic.
import { createHash } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { comlinkNodePool } from '../src/pools/comlink-node.js';
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
