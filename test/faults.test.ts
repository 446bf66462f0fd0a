// Worker faults on real threads: a worker thread that exits, hangs or runs out of memory in the
// middle of a step is replaced and the step run again (its inputs are untouched: params.ts), so
// the run ends with the undisturbed run's weights; a step that fails every time stops the run
// with the cause.
// The faults come from test/fixtures/fault.mjs, steered through the environment.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { createPiscinaPool, type PiscinaPoolOptions } from '../src/pools/piscina.js';
import { createComlinkNodePool } from '../src/pools/comlink-node.js';
import type { StepEvent, TrainEvent } from '../src/coordinator.js';
import type { PoolFactory } from '../src/protocol.js';
import type { TrainerOptions } from '../src/options.js';
import { tempDir } from './helpers/tmp.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  for (const k of ['LENET5_FAULT', 'LENET5_FAULT_AT', 'LENET5_FAULT_ONCE']) delete process.env[k];
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const fixture = (file: string) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));
const piscina = (o: PiscinaPoolOptions = {}) => createPiscinaPool({ filename: fixture('faulty-worker.mjs'), ...o });
const comlink = () => createComlinkNodePool({ filename: fixture('faulty-comlink-worker.mjs') });
const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const BASE: TrainerOptions = { model: 'lenet5-softmax', data: mnist, limit: 640, workers: 2, seed: 4 };
const STEPS = 5;

/** Sets the fault for the gradient task of step `step`, micro-batch 1; `once`: one thread, one time. */
function inject(fault: 'exit' | 'throw' | 'hang' | 'oom', step: number, once: boolean): string {
  process.env.LENET5_FAULT = fault;
  process.env.LENET5_FAULT_AT = `${step - 1}:1`;
  const marker = join(tempDir('fault'), 'fired');
  if (once) process.env.LENET5_FAULT_ONCE = marker;
  return marker;
}

async function train(options: TrainerOptions, steps = STEPS): Promise<{ t: Trainer; events: TrainEvent[] }> {
  const t = await createTrainer({ ...BASE, ...options });
  open.push(t);
  const events: TrainEvent[] = [];
  for await (const ev of t.train({ steps })) events.push(ev);
  return { t, events };
}

let undisturbed: string | null = null;
async function undisturbedHash(): Promise<string> {
  undisturbed ??= await train({}).then(({ t }) => t.weightsSha256());
  return undisturbed!;
}

describe.each([
  ['Piscina', (o?: PiscinaPoolOptions): PoolFactory => piscina(o)],
  ['Comlink', (): PoolFactory => comlink()],
])('%s pool', (_, pool) => {
  test('a worker thread that exits in the middle of step 3 is replaced; the run ends with the undisturbed hash', async () => {
    const marker = inject('exit', 3, true);
    const { t, events } = await train({ pool: pool() });
    expect(existsSync(marker)).toBe(true); // the fault did happen
    expect(t.step).toBe(STEPS);
    const step3 = events.find((e): e is StepEvent => e.type === 'step' && e.step === 3)!;
    expect(step3.faults).toEqual([expect.stringMatching(/^step 3 micro-batch 1: worker exited with code: 3; running it again \(attempt 2 of 3\)$/)]);
    expect(events.filter((e) => e.type === 'step' && e.faults)).toHaveLength(1);
    expect(await t.weightsSha256()).toBe(await undisturbedHash());
  });

  test('a worker that hangs in step 2 is stopped after the task timeout and replaced; same hash', async () => {
    const marker = inject('hang', 2, true);
    const started = Date.now();
    const { t, events } = await train({ pool: pool(), taskTimeoutMs: 2_000 });
    expect(existsSync(marker)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    const step2 = events.find((e): e is StepEvent => e.type === 'step' && e.step === 2)!;
    expect(step2.faults?.[0]).toMatch(/^step 2 micro-batch 1: the task ran past the 2 s task timeout; its worker (thread )?was stopped and replaced; running it again/);
    expect(await t.weightsSha256()).toBe(await undisturbedHash());
    // The pool is whole again: the trainer can go on evaluating and training.
    expect((await t.evaluate()).count).toBe(10_000);
  });

  test('a task that throws every time stops the run after 3 attempts with the cause; the weights stay at the last good step', async () => {
    inject('throw', 3, false);
    const good = await train({}, 2);
    const started = Date.now();
    await expect(train({ pool: pool() })).rejects.toThrow(/^step 3 failed: step 3 micro-batch 1 failed 3 times \(last: injected fault: kernel blew up\)$/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const failed = open.at(-1)!;
    expect(failed.step).toBe(2);
    expect(sha(failed.store.weights)).toBe(sha(good.t.store.weights));
    await expect(failed.runStep()).rejects.toThrow(/the trainer stopped after a failure: step 3 failed/);
  });
});

test('a Piscina worker thread that runs out of memory in step 3 is replaced; same hash', async () => {
  const marker = inject('oom', 3, true);
  const { t, events } = await train({ pool: piscina({ resourceLimits: { maxOldGenerationSizeMb: 256 } }) });
  expect(existsSync(marker)).toBe(true);
  const step3 = events.find((e): e is StepEvent => e.type === 'step' && e.step === 3)!;
  expect(step3.faults?.[0]).toMatch(/^step 3 micro-batch 1: .*out of memory.*; running it again/i);
  expect(await t.weightsSha256()).toBe(await undisturbedHash());
});

test('the task timeout bounds a task, not the run: the workers end their tasks of steps within a tenth of it', async () => {
  // 100 steps of ~10 ms on 2 threads: far longer than the timeout altogether, each task far shorter.
  const t = await createTrainer({ ...BASE, limit: 6400, taskTimeoutMs: 600 });
  open.push(t);
  const started = performance.now();
  const events: StepEvent[] = [];
  while (events.length < 100) events.push(...(await t.runSteps(100 - events.length)));
  expect(performance.now() - started).toBeGreaterThan(600);
  expect(events.map((e) => e.step)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(events.filter((e) => e.faults)).toEqual([]);
});

test('a Comlink pool that failed leaves no task timer behind once closed', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  inject('throw', 2, false);
  await expect(train({ pool: comlink(), taskTimeoutMs: 600_000 })).rejects.toThrow(/step 2 failed/);
  await Promise.all(open.splice(0).map((tr) => tr.close()));
  expect(timers()).toBeLessThanOrEqual(before);
});

test('a run that would count past the last step (2^31 - 1) is refused before it starts', async () => {
  const t = await createTrainer({ ...BASE, batchSize: 1, limit: 640 });
  open.push(t);
  await expect(t.train({ epochs: 4_000_000 }).next()).rejects.toThrow(/train: the run would end at step 2560000000, past the last step a run can count \(2147483647\); ask for fewer epochs or steps/);
});

test('options.taskTimeoutMs and options.taskAttempts are checked', async () => {
  await expect(createTrainer({ ...BASE, taskTimeoutMs: 0 })).rejects.toThrow(/options.taskTimeoutMs must be an integer in 1\.\./);
  await expect(createTrainer({ ...BASE, taskAttempts: 1.5 })).rejects.toThrow(/options.taskAttempts must be an integer in 1\.\.100/);
});
