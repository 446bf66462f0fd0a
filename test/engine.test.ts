// The parallel engine on real threads: determinism, the S-way average, NaN stops, aborts.
// (Worker faults: faults.test.ts.)
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { inlinePool } from '../src/pools/inline.js';
import type { TrainEvent } from '../src/coordinator.js';
import { specOf } from './helpers/setup.js';
import { ParamStore, STORE_BASE } from '../src/params.js';
import { averageSlots, sgdStep, updateRange } from '../src/optimizer.js';
import { initWasm } from '../src/kernels/wasm.js';
import { storeKernels } from '../src/kernels/store-kernels.js';
import { stream, uniform01 } from '../src/rng.js';
import type { StoreSpec } from '../src/params.js';
import type { TrainerOptions } from '../src/options.js';
import type { PoolFactory } from '../src/protocol.js';
import { createWorker } from '../src/worker.js';
import { createPiscinaPool } from '../src/pools/piscina.js';
import { fileURLToPath } from 'node:url';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function trainer(options: TrainerOptions): Promise<Trainer> {
  const t = await createTrainer({ data: mnist, limit: 6400, ...options });
  open.push(t);
  return t;
}

async function run(t: Trainer, steps: number, signal?: AbortSignal): Promise<TrainEvent[]> {
  const events: TrainEvent[] = [];
  for await (const ev of t.train({ steps, signal })) events.push(ev);
  return events;
}

const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** Real threads that pause a random 0-7 ms before each micro-batch: micro-batches finish in a different order each step. */
const scramblingPool = createPiscinaPool({ filename: fileURLToPath(new URL('./fixtures/scrambling-worker.mjs', import.meta.url)) });

describe('determinism', () => {
  test('two runs of 30 steps with the same seed give bitwise-identical weights (shuffled, augmented)', async () => {
    const a = await trainer({ model: 'lenet5', workers: 2, seed: 11 });
    const b = await trainer({ model: 'lenet5', workers: 2, seed: 11 });
    const [ea, eb] = [await run(a, 30), await run(b, 30)];
    expect(a.step).toBe(30);
    expect(sha(b.store.weights)).toBe(sha(a.store.weights));
    expect(eb.at(-1)).toMatchObject({ type: 'done', weightsSha256: sha(a.store.weights) });
    expect(ea.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.loss)).toEqual(
      eb.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.loss),
    );
    // ...and a different seed gives different weights.
    const c = await trainer({ model: 'lenet5', workers: 2, seed: 12 });
    await run(c, 30);
    expect(sha(c.store.weights)).not.toBe(sha(a.store.weights));
  });

  test('with S = 4, 1, 2 and 4 worker threads (and scrambled finishing order, 3 threads for 4 micro-batches, the calling thread) give bitwise-identical weights', async () => {
    const hashes = [];
    for (const [workers, pool] of [[1, undefined], [2, undefined], [4, undefined], [4, scramblingPool], [3, scramblingPool], [1, inlinePool]] as const) {
      const t = await trainer({ model: 'lenet5-softmax', workers, shards: 4, seed: 3, pool });
      await run(t, 12);
      hashes.push(sha(t.store.weights));
      await t.close();
    }
    expect(new Set(hashes).size).toBe(1);
  });

  test('the WebAssembly update (averaging and SGD), in place in the store and through copies, gives the bits of the JS definition', async () => {
    await initWasm();
    const odd: StoreSpec = { name: 'odd', params: [
      { name: 'a', shape: [7], trainable: true }, { name: 'fixed', shape: [3], trainable: false }, { name: 'b', shape: [5, 3], trainable: true },
    ] };
    const specs: StoreSpec[] = [specOf('lenet5'), specOf('lenet5-softmax'), odd];
    for (const [spec, counts] of specs.flatMap((sp) => [[32], [32, 32], [22, 21, 21], [40, 0, 24]].map((c) => [sp, c] as const))) {
      // The JS definition; wasm in place (the store's memory has the kernels); wasm on copies (a
      // view of a store's bytes alone, without its memory).
      const made = [0, 1, 2].map(() => ParamStore.create(spec, counts.length));
      expect(storeKernels(made[1].memory!)?.scratch(counts.length)).not.toBeNull(); // so averaging runs in place too
      const stores = [made[0], made[1], ParamStore.attach(spec, made[2].buffer, ['momentum'])];
      const wasm = [false, true, true];
      const rng = stream(7, counts.length);
      const fill = (r: Float32Array) => r.forEach((_, i) => (r[i] = 2 * uniform01(rng) - 1));
      fill(stores[0].weights);
      fill(stores[0].momentum);
      for (let s = 0; s < counts.length; s++) fill(stores[0].slot(s));
      const copyStore = (from: ParamStore, to: ParamStore) => new Uint8Array(to.buffer, STORE_BASE).set(new Uint8Array(from.buffer, STORE_BASE)); // past the kernels' static data
      for (const st of stores.slice(1)) copyStore(stores[0], st); // the same state thrice
      const before = sha(stores[0].weights);
      const finite = stores.map((st, k) => averageSlots(st, counts, wasm[k]));
      stores.forEach((st, k) => sgdStep(st, 0.01, 0.9, 0, wasm[k]));
      expect(finite).toEqual([true, true, true]);
      for (const region of ['grad', 'momentum', 'weights'] as const) {
        for (const k of [1, 2]) expect(sha(stores[k][region]), `${spec.name} ${counts} ${region}, wasm ${k === 1 ? 'in place' : 'on copies'}`).toBe(sha(stores[0][region]));
      }
      expect(sha(stores[0].weights)).not.toBe(before); // the update moved the weights
      // A second step by ranges, as three workers split it (steps.ts: ends on multiples of 4; in
      // the odd model the fixed tensor [7, 10) straddles the first boundary, 8).
      const P = stores[0].layout.size;
      const sgd = { optimizer: 'sgd', momentum: 0.9, weightDecay: 0, beta1: 0, beta2: 0, epsilon: 0 } as const;
      for (const [k, st] of stores.entries()) {
        const v = st.version;
        for (let w = 0; w < 3; w++) {
          const lo = Math.min(P, 4 * Math.floor((P * w) / 3 / 4));
          const hi = w === 2 ? P : Math.min(P, 4 * Math.floor((P * (w + 1)) / 3 / 4));
          expect(averageSlots(st, counts, wasm[k], lo, hi)).toBe(true);
          updateRange(st, sgd, 0.02, v, v, lo, hi, wasm[k]);
        }
        st.version = v + 1;
      }
      for (const region of ['grad', 'momentum', 'weights'] as const) {
        for (const k of [1, 2]) expect(sha(stores[k][region]), `${spec.name} ${counts} ${region} by ranges, wasm ${k === 1 ? 'in place' : 'on copies'}`).toBe(sha(stores[0][region]));
      }
      // A non-finite entry, in the two-at-a-time loop and in the odd-length tail, is reported by
      // both; one in an unused slot (count 0) is ignored by both.
      for (const at of [5, stores[0].layout.size - 1]) {
        const copy = stores.map((src, k) => {
          const st = ParamStore.create(spec, counts.length);
          copyStore(src, st);
          return k === 2 ? ParamStore.attach(spec, st.buffer) : st;
        });
        const last = counts.length - 1;
        copy.forEach((st) => (st.slot(last)[at] = Number.POSITIVE_INFINITY));
        expect(copy.map((st, k) => averageSlots(st, counts, wasm[k])), `${counts} at ${at}`).toEqual([false, false, false]);
        const unused = counts.indexOf(0);
        if (unused >= 0) {
          copy.forEach((st) => (st.slot(last)[at] = 0));
          copy.forEach((st) => (st.slot(unused)[at] = Number.NaN));
          expect(copy.map((st, k) => averageSlots(st, counts, wasm[k]))).toEqual([true, true, true]);
        }
      }
    }
  });

  test.each([4, 3])('the %i-way averaged gradient equals the single-call full-batch gradient to float32 rounding', async (S) => {
    for (const model of ['lenet5', 'lenet5-softmax'] as const) {
      const full = await trainer({ model, workers: 1, shards: 1, seed: 5, pool: inlinePool });
      const split = await trainer({ model, workers: 2, shards: S, seed: 5 });
      const [a, b] = [await full.runStep(), await split.runStep()];
      expect(b.samples).toBe(64);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-6 * Math.abs(a.loss));
      // Bound: each slot is a float32 gradient whose sums over samples and pixels (up to 64 x 784
      // products, accumulated in float32 in chunks of 128) run in another order than the full
      // batch's; the slots are then combined in float64. Such reordering moves a float32 sum by a
      // few dozen units in the last place of its largest terms: we allow 2^-18 (64 ulp) of the
      // tensor's largest entry; measured: at most 6.4e-7 (about 11 ulp) over both models, S = 3, 4.
      for (const t of full.store.layout.tensors.filter((v) => v.trainable)) {
        const g1 = full.store.view(full.store.grad, t.name);
        const gS = split.store.view(split.store.grad, t.name);
        const scale = g1.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const worst = g1.reduce((m, v, i) => Math.max(m, Math.abs(v - gS[i])), 0);
        expect(worst, `${model} ${t.name}`).toBeLessThanOrEqual(2 ** -18 * scale);
      }
    }
  });
});

describe('failures', () => {
  test('a NaN gradient from a worker stops the step with a clear message and leaves the weights as they were', async () => {
    // A worker whose slot 0 comes back poisoned, as an overflowing kernel would leave it.
    const poisoning: PoolFactory = async (init) => {
      const worker = await createWorker(init, { afterMicroBatch: (_, slot, g) => void (slot === 0 && (g[3] = Number.NaN)) });
      return { size: 1, inline: true, run: async (task) => worker.run(task) as never, destroy: async () => {} };
    };
    const t = await trainer({ model: 'lenet5-softmax', workers: 1, shards: 2, seed: 1, pool: poisoning });
    const before = sha(t.store.weights);
    await expect(t.runStep()).rejects.toThrow(/step 1: the gradient is not finite; training diverged, lower the learning rate \(now 0.05\)/);
    expect(sha(t.store.weights)).toBe(before);
    expect(t.step).toBe(0);
  });

  test('a NaN loss stops training with a clear message', async () => {
    const t = await trainer({ model: 'lenet5', workers: 1, seed: 1, pool: inlinePool });
    t.store.view(t.store.weights, 'c1.weight')[0] = Number.NaN; // as if an earlier update had overflowed
    await expect(run(t, 3)).rejects.toThrow(/step 1: the (loss|gradient) is (NaN|not finite); training diverged, lower the learning rate/);
    expect(t.step).toBe(0);
  });
});

describe('one operation at a time', () => {
  test('predict and evaluate called during a step wait for it instead of failing the trainer; bad input is refused harmlessly', async () => {
    const t = await trainer({ model: 'lenet5-softmax', workers: 2, seed: 2 });
    const [step, pred, ev] = await Promise.all([t.runStep(), t.predict(mnist.test.images.slice(0, 3 * 784)), t.evaluate('test')]);
    expect(step.step).toBe(1);
    expect(pred.predicted).toHaveLength(3);
    expect(ev.count).toBe(10_000);
    await expect(t.predict(new Uint8Array(100))).rejects.toThrow(/predict: images must be a Uint8Array or Float32Array of n x 784 values \(28x28 each\), got 100 values/);
    await expect(t.runStep()).resolves.toMatchObject({ step: 2 });
  });
});

describe('abort', () => {
  test('an aborted signal stops between steps, within a task of steps; the state equals a run of exactly that many steps', async () => {
    const controller = new AbortController();
    const t = await trainer({ model: 'lenet5-softmax', workers: 2, seed: 9 });
    const events: TrainEvent[] = [];
    for await (const ev of t.train({ steps: 500, signal: controller.signal })) {
      events.push(ev);
      if (ev.type === 'step' && ev.step === 7) controller.abort();
    }
    // The steps the workers had been given when the signal came are finished and reported (a
    // task lasts at most a quarter of a second), none after.
    const steps = events.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.step);
    const last = steps.at(-1) as number;
    expect(steps).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(last).toBeGreaterThanOrEqual(7);
    expect(last).toBeLessThan(500);
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'aborted', step: last });
    const same = await trainer({ model: 'lenet5-softmax', workers: 2, seed: 9 });
    await run(same, last);
    expect(sha(t.store.weights)).toBe(sha(same.store.weights));
    expect(sha(t.store.momentum)).toBe(sha(same.store.momentum));
  });

  test('a task of steps stops after its first step when the signal is already aborted, or when other work is waiting', async () => {
    const t = await trainer({ model: 'lenet5-softmax', workers: 2, seed: 9 });
    const controller = new AbortController();
    controller.abort();
    expect(await t.runSteps(50, controller.signal)).toHaveLength(1);
    const [steps, evaluation] = await Promise.all([t.runSteps(50), t.evaluate()]);
    expect(steps.map((e) => e.step)).toEqual([2]);
    expect(evaluation.count).toBe(10_000);
    expect((await t.runSteps(5)).map((e) => e.step)).toEqual([3, 4, 5, 6, 7]);
  });
});
