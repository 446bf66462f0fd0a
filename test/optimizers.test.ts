// The optimizers (sgd with weight decay, adam, adamw) and the cosine schedule: against an
// independent float64 reference of PyTorch's formulas, JS against WebAssembly bit for bit, the
// store's state regions, real training on 1 and 2 workers, save and resume, and bad options.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { optimizerPath, readCheckpoint } from '../src/checkpoint.js';
import { loadMnist } from '../src/mnist-files.js';
import { specOf as createModel } from './helpers/setup.js';
import { learningRateAt, OPTIMIZER_STATE, optimizerStep, type OptimizerSettings, type Schedule } from '../src/optimizer.js';
import { DEFAULTS, resolveOptions, type TrainerOptions } from '../src/options.js';
import { ParamStore, STORE_BASE, type StoreSpec } from '../src/params.js';
import { initWasm } from '../src/kernels/wasm.js';
import { stream, uniform01 } from '../src/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../src/safetensors.js';
import { tempDir } from './helpers/tmp.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** Two trainable tensors of odd sizes around a fixed one: the SIMD loop's pairs and the tail both run. */
const ODD: StoreSpec = { name: 'odd', params: [
  { name: 'a', shape: [7], trainable: true }, { name: 'fixed', shape: [3], trainable: false }, { name: 'b', shape: [5, 3], trainable: true },
] };

const settings = (o: Partial<OptimizerSettings>): OptimizerSettings => ({
  optimizer: 'adam', momentum: DEFAULTS.momentum, weightDecay: 0, beta1: DEFAULTS.beta1, beta2: DEFAULTS.beta2, epsilon: DEFAULTS.epsilon, ...o,
});

/** A store for `s.optimizer` with weights in [-1, 1) from `seed`. */
function storeFor(spec: StoreSpec, s: OptimizerSettings, seed = 7): ParamStore {
  const store = ParamStore.create(spec, 1, OPTIMIZER_STATE[s.optimizer]);
  const rng = stream(seed, 0);
  store.weights.forEach((_, i) => (store.weights[i] = 2 * uniform01(rng) - 1));
  return store;
}

/** Step t's gradient (t from 1): entries of both signs, magnitudes spread over 1e-4..10. */
function gradient(n: number, t: number): Float32Array {
  const rng = stream(100 + t, 1);
  return Float32Array.from({ length: n }, () => (2 * uniform01(rng) - 1) * 10 ** (4 * uniform01(rng) - 3));
}

/**
 * torch.optim.Adam / AdamW as their documentation writes the algorithm, in float64 throughout
 * (nothing rounded to float32): adam's weight decay joins the gradient, adamw's scales the weight
 * first; m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t); w -= lr m_hat / (sqrt(v_hat) + eps).
 */
function torchAdam(w0: Float32Array, s: OptimizerSettings, lrs: number[], grads: Float32Array[]): Float64Array {
  const w = Float64Array.from(w0);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  lrs.forEach((lr, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) {
      let g = grads[k][i];
      if (s.optimizer === 'adamw') w[i] -= lr * s.weightDecay * w[i];
      else g += s.weightDecay * w[i];
      m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
      v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
      const mHat = m[i] / (1 - s.beta1 ** t);
      const vHat = v[i] / (1 - s.beta2 ** t);
      w[i] -= (lr * mHat) / (Math.sqrt(vHat) + s.epsilon);
    }
  });
  return w;
}

describe('adam and adamw', () => {
  test.each([
    ['adam', settings({})],
    ['adam with L2 weight decay', settings({ weightDecay: 0.05 })],
    ['adamw', settings({ optimizer: 'adamw', weightDecay: 0.05 })],
    ['adamw with other betas and epsilon', settings({ optimizer: 'adamw', weightDecay: 0.01, beta1: 0.5, beta2: 0.9, epsilon: 1e-3 })],
  ])('%s follows PyTorch\'s formulas over 8 steps (float64 reference), on JS and WebAssembly alike', async (_, s) => {
    await initWasm();
    const lrs = [0.01, 0.01, 0.008, 0.005, 0.02, 0.001, 0.003, 0.01]; // a schedule moves lr between steps
    const [js, wasm] = [storeFor(ODD, s), storeFor(ODD, s)];
    const w0 = js.weights.slice();
    const grads = lrs.map((_, k) => gradient(js.layout.size, k + 1));
    lrs.forEach((lr, k) => {
      for (const [st, useWasm] of [[js, false], [wasm, true]] as const) {
        st.grad.set(grads[k]);
        optimizerStep(st, s, lr, k, useWasm);
      }
    });
    const ref = torchAdam(w0, s, lrs, grads);
    for (const t of js.layout.tensors) {
      for (let i = t.offset; i < t.offset + t.size; i++) {
        if (!t.trainable) {
          expect(js.weights[i]).toBe(w0[i]); // fixed tensors never move
          continue;
        }
        // Each step rounds w, m and v to float32 (half an ulp, 2^-24 relative); the step's size
        // is at most about lr, so 8 steps stay within 8 (2^-24 |w| + 2^-22 lr) of the reference.
        const bound = 8 * (2 ** -24 * Math.abs(ref[i]) + 2 ** -22 * 0.02);
        expect(Math.abs(js.weights[i] - ref[i]), `${t.name}[${i - t.offset}]`).toBeLessThanOrEqual(bound);
      }
    }
    expect(Math.abs(js.weights[0] - w0[0])).toBeGreaterThan(0.01); // it moved, by about sum(lr)
    for (const r of ['weights', 'grad'] as const) expect(sha(wasm[r])).toBe(sha(js[r]));
    for (const r of OPTIMIZER_STATE[s.optimizer]) expect(sha(wasm.state[r]), r).toBe(sha(js.state[r]));
  });

  test('the WebAssembly update gives the JS definition\'s bits on both models, for every optimizer and weight decay', async () => {
    await initWasm();
    const cases = [
      settings({ optimizer: 'sgd', weightDecay: 5e-4 }), settings({}), settings({ weightDecay: 1e-3 }), settings({ optimizer: 'adamw', weightDecay: 0.01 }),
    ];
    for (const spec of [createModel('lenet5'), createModel('lenet5-softmax'), ODD]) {
      for (const s of cases) {
        // wasm in place in the store's memory, and on copies (a view of the bytes alone)
        const [js, wasm, copying] = [storeFor(spec, s, 3), storeFor(spec, s, 3), storeFor(spec, s, 3)];
        const onCopies = ParamStore.attach(spec, copying.buffer, OPTIMIZER_STATE[s.optimizer]);
        for (let step = 0; step < 3; step++) {
          const g = gradient(js.layout.size, step + 1);
          for (const st of [js, wasm, onCopies]) st.grad.set(g);
          optimizerStep(js, s, 0.01, step, false);
          optimizerStep(wasm, s, 0.01, step, true);
          optimizerStep(onCopies, s, 0.01, step, true);
        }
        for (const [st, how] of [[wasm, 'in place'], [onCopies, 'on copies']] as const) {
          const what = `${spec.params.length} tensors, ${s.optimizer} wd ${s.weightDecay}, wasm ${how}`;
          expect(sha(st.weights), what).toBe(sha(js.weights));
          for (const r of OPTIMIZER_STATE[s.optimizer]) expect(sha(st.state[r]), `${what} ${r}`).toBe(sha(js.state[r]));
        }
      }
    }
  });

  test('weight decay: SGD and AdamW shrink w by lr wd w; Adam\'s L2 term is normalised away into steps of about lr', () => {
    const lr = 0.01;
    const wd = 0.1;
    for (const s of [settings({ optimizer: 'sgd', weightDecay: wd }), settings({ weightDecay: wd }), settings({ optimizer: 'adamw', weightDecay: wd })]) {
      const store = storeFor(ODD, s);
      const w0 = store.weights.slice();
      optimizerStep(store, s, lr, 0, false); // the gradient is zero: only the decay acts
      for (const t of store.layout.tensors.filter((v) => v.trainable)) {
        for (let i = t.offset; i < t.offset + t.size; i++) {
          const expected = s.optimizer === 'adam' ? w0[i] - lr * Math.sign(w0[i]) : w0[i] * (1 - lr * wd);
          expect(store.weights[i]).toBeCloseTo(expected, 6);
        }
      }
      // Without decay and without a gradient nothing moves.
      const still = storeFor(ODD, { ...s, weightDecay: 0 });
      const before = sha(still.weights);
      optimizerStep(still, { ...s, weightDecay: 0 }, lr, 0, false);
      expect(sha(still.weights)).toBe(before);
    }
  });
});

describe('the store', () => {
  test('holds one state region per name the optimizer gives; workers attach without them', () => {
    const spec = createModel('lenet5-softmax');
    const adam = ParamStore.create(spec, 3, OPTIMIZER_STATE.adam);
    expect(Object.keys(adam.state)).toEqual(['exp_avg', 'exp_avg_sq']);
    const P = adam.layout.size;
    // After the reserved bytes: header, weights and 2 states twice (by version parity), grad, 3
    // slots, back to back; regions start on 16 bytes. The store is a shared WebAssembly.Memory.
    const R = ((P + 3) & ~3) * 4;
    expect(adam.slot(2).byteOffset).toBe(STORE_BASE + 16 + (2 + 2 * 2 + 1 + 2) * R);
    expect(adam.buffer.byteLength).toBe(Math.ceil((STORE_BASE + 16 + (2 + 2 * 2 + 1 + 3) * R) / 65536) * 65536);
    expect(adam.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(adam.shared).toBe(adam.memory);
    expect(adam.layout.tensors.flatMap(() => [adam.weightsAt(0), adam.weightsAt(1), adam.slot(2), adam.grad]).every((r) => r.byteOffset % 16 === 0)).toBe(true);
    // The copy in use follows the version: step v reads copy v % 2, its update writes the other.
    expect(adam.weightsAt(0).byteOffset).not.toBe(adam.weightsAt(1).byteOffset);
    expect(adam.weightsAt(2).byteOffset).toBe(adam.weightsAt(0).byteOffset);
    adam.version = 1;
    expect(adam.weights.byteOffset).toBe(adam.weightsAt(1).byteOffset);
    expect(adam.state.exp_avg.byteOffset).toBe(adam.stateAt(1).exp_avg.byteOffset);
    expect(adam.state.exp_avg.byteOffset).not.toBe(adam.stateAt(0).exp_avg.byteOffset);
    expect(() => adam.momentum).toThrow(/the parameter store has no optimizer state momentum; it holds exp_avg, exp_avg_sq/);
    const sgd = ParamStore.create(spec, 2);
    expect(Object.keys(sgd.state)).toEqual(['momentum']); // the default, as before
    // A worker's view: the slots are where the creator's are.
    const worker = ParamStore.attach(spec, adam.shared);
    adam.slot(2)[5] = 42;
    expect(worker.slot(2)[5]).toBe(42);
    expect(ParamStore.attach(spec, adam.buffer).slot(2)[5]).toBe(42); // its bytes alone attach too
    expect(() => ParamStore.attach(spec, new SharedArrayBuffer(8))).toThrow(/needs a store's shared memory/);
    expect(worker.state).toEqual({});
    expect(() => ParamStore.attach(spec, adam.buffer, ['momentum'])).toThrow(/holds 2 optimizer state regions, not 1 \(momentum\)/);
    expect(ParamStore.attach(spec, adam.buffer, OPTIMIZER_STATE.adamw).state.exp_avg_sq.byteOffset).toBe(adam.state.exp_avg_sq.byteOffset);
  });
});

describe('the cosine schedule', () => {
  const cosine: Schedule = { learningRate: 0.1, lrSchedule: 'cosine', lrDecay: 0.5, lrDecayEvery: 3, epochs: 4 };
  test('starts at lr, halves halfway, ends near 0 (T = epochs x steps per epoch = 100)', () => {
    expect(learningRateAt(cosine, 0, 25)).toBe(0.1);
    expect(learningRateAt(cosine, 50, 25)).toBe(0.05);
    expect(learningRateAt(cosine, 25, 25)).toBeCloseTo(0.1 * (1 + Math.SQRT1_2) / 2, 15);
    expect(learningRateAt(cosine, 99, 25)).toBeLessThan(0.1 * 3e-4);
    expect(learningRateAt(cosine, 99, 25)).toBeGreaterThan(0);
    expect(learningRateAt(cosine, 100, 25)).toBe(0);
    expect(learningRateAt(cosine, 150, 25)).toBe(0); // held at its end
    for (let t = 1; t < 100; t++) expect(learningRateAt(cosine, t, 25)).toBeLessThan(learningRateAt(cosine, t - 1, 25));
    // The step schedule, for comparison: x0.5 every 3 epochs of 25 steps.
    const step = { ...cosine, lrSchedule: 'step' } as const;
    expect([0, 74, 75, 149, 150].map((t) => learningRateAt(step, t, 25))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });

  test('a run reports the rate each step used, and refuses to train past the end of the schedule', async () => {
    const t = await createTrainer({ data: mnist, limit: 640, workers: 1, optimizer: 'adam', lrSchedule: 'cosine', epochs: 2, learningRate: 0.002 });
    open.push(t);
    const rates: number[] = [];
    for await (const ev of t.train()) if (ev.type === 'step') rates.push(ev.learningRate);
    expect(rates).toHaveLength(20);
    expect(rates).toEqual(rates.map((_, k) => learningRateAt(t.options, k, 10)));
    expect(rates[0]).toBe(0.002);
    expect(rates[10]).toBe(0.001);
    await expect(t.train({ epochs: 3 }).next()).rejects.toThrow(/^train: the cosine schedule reaches 0 at the end of options.epochs \(2\); train at most that many epochs, or set options.epochs to 3$/);
  });
});

async function trained(options: TrainerOptions, steps: number): Promise<Trainer> {
  const t = await createTrainer({ data: mnist, limit: 640, ...options });
  open.push(t);
  for await (const _ of t.train({ steps })) void _;
  return t;
}

describe('training with adam', () => {
  test('1 and 2 workers give the same weights, bit for bit, and it learns', async () => {
    const options = { optimizer: 'adam', shards: 2, seed: 4, weightDecay: 1e-4 } as const;
    const one = await trained({ ...options, workers: 1 }, 10);
    const two = await createTrainer({ data: mnist, limit: 640, ...options, workers: 2 });
    open.push(two);
    const losses: number[] = [];
    for await (const ev of two.train({ steps: 10 })) if (ev.type === 'step') losses.push(ev.loss);
    expect(await two.weightsSha256()).toBe(await one.weightsSha256());
    expect(sha(two.store.state.exp_avg_sq)).toBe(sha(one.store.state.exp_avg_sq));
    expect(losses.at(-1)).toBeLessThan(losses[0]);
    const sgd = await trained({ shards: 2, seed: 4, workers: 2 }, 10);
    expect(await sgd.weightsSha256()).not.toBe(await one.weightsSha256());
  });

  test('save and resume equal an uninterrupted run (adamw, cosine, across an epoch); the optimizer file holds both moments', async () => {
    const options = { optimizer: 'adamw', lrSchedule: 'cosine', epochs: 2, seed: 21, shards: 2, workers: 2 } as const; // 10 steps per epoch
    const straight = await trained(options, 17);
    const first = await trained(options, 8);
    const path = join(tempDir('optim'), 'half.safetensors');
    await first.save(path);
    await first.close();
    const resumed = await createTrainer({ data: mnist, workers: 1, init: path }); // settings come from the checkpoint
    open.push(resumed);
    expect(resumed.warning).toBeNull();
    expect(resumed.options).toMatchObject({ optimizer: 'adamw', lrSchedule: 'cosine', weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, epochs: 2 });
    for await (const _ of resumed.train({ steps: 17 })) void _;
    expect(await resumed.weightsSha256()).toBe(await straight.weightsSha256());
    for (const r of ['exp_avg', 'exp_avg_sq']) expect(sha(resumed.store.state[r]), r).toBe(sha(straight.store.state[r]));

    const model = decodeSafetensors(readFileSync(path), path).metadata;
    expect(model).toMatchObject({ optimizer: 'adamw', lr_schedule: 'cosine', weight_decay: '0.01', beta1: '0.9', beta2: '0.999', epsilon: '1e-8' });
    expect(model).not.toHaveProperty('momentum'); // only what the optimizer and schedule read
    expect(model).not.toHaveProperty('lr_decay');
    const opt = decodeSafetensors(readFileSync(optimizerPath(path)), 'x');
    expect(opt.metadata).toMatchObject({ kind: 'adamw', step: '8', beta1: '0.9', beta2: '0.999', epsilon: '1e-8', weight_decay: '0.01', weights_sha256: model.weights_sha256 });
    const names = resumed.store.layout.tensors.map((t) => t.name);
    expect(opt.tensors.map((t) => t.name)).toEqual([...names.map((n) => `exp_avg.${n}`), ...names.map((n) => `exp_avg_sq.${n}`)]);
    const ckpt = await readCheckpoint(path);
    expect(opt.metadata.exp_avg_sq_sha256).toBe(sha(ckpt.state!.exp_avg_sq));
    expect(ckpt.momentum).toBeNull();

    // Resuming as another optimizer is refused; without the optimizer file the moments restart, said.
    await expect(createTrainer({ data: mnist, init: path, optimizer: 'sgd' })).rejects.toThrow(
      /^options.optimizer is sgd but the checkpoint was trained with adamw; resume with optimizer adamw \(or leave it out\), or start a new run$/,
    );
    writeFileSync(optimizerPath(path), readFileSync(optimizerPath(path)).subarray(0, 200));
    expect((await readCheckpoint(path)).warning).toMatch(/half.optim.safetensors: not a valid safetensors checkpoint: .*; adamw's moments restart at zero/);
  });

  test('a checkpoint from before the optimizer was recorded resumes as sgd with the step schedule', async () => {
    const t = await trained({ workers: 1, seed: 2 }, 3);
    const path = join(tempDir('optim'), 'old.safetensors');
    await t.save(path);
    const f = decodeSafetensors(readFileSync(path), path);
    const { optimizer, lr_schedule, weight_decay, ...older } = f.metadata;
    expect([optimizer, lr_schedule, weight_decay]).toEqual(['sgd', 'step', '0']);
    writeFileSync(path, encodeSafetensors(f.tensors, older));
    const ckpt = await readCheckpoint(path);
    expect(ckpt.recorded).toMatchObject({ optimizer: 'sgd', lrSchedule: 'step', momentum: 0.9 });
    expect(ckpt.warning).toBeNull();
    expect(sha(ckpt.momentum!)).toBe(sha(t.store.momentum));
    await expect(createTrainer({ data: mnist, init: path, optimizer: 'adam' })).rejects.toThrow(/^options.optimizer is adam but the checkpoint was trained with sgd/);
  });
});

describe('bad options: one TypeError line that says what to change', () => {
  test.each([
    [{ optimizer: 'rmsprop' }, /^options.optimizer must be one of sgd, adam, adamw, got "rmsprop"$/],
    [{ lrSchedule: 'linear' }, /^options.lrSchedule must be one of step, cosine, got "linear"$/],
    [{ weightDecay: -0.1 }, /^options.weightDecay must be a number in \[0, 1\], got -0.1$/],
    [{ optimizer: 'adam', beta1: 1 }, /^options.beta1 must be a number in \[0, 1\), got 1$/],
    [{ optimizer: 'adam', beta2: Number.NaN }, /^options.beta2 must be a number in \[0, 1\), got NaN$/],
    [{ optimizer: 'adamw', epsilon: 0 }, /^options.epsilon must be a number in \(0, 1\], got 0$/],
    [{ optimizer: 'adam', momentum: 0.5 }, /^options.momentum is SGD's, but options.optimizer is adam: leave it out \(beta1 is its counterpart\)$/],
    [{ beta2: 0.99 }, /^options.beta2 is Adam's, but options.optimizer is sgd: leave it out, or give optimizer adam or adamw$/],
    [{ lrSchedule: 'cosine', lrDecay: 0.5 }, /^options.lrDecay is the step schedule's, but options.lrSchedule is cosine: leave it out, or give lrSchedule step$/],
  ])('%j', (options, message) => {
    expect(() => resolveOptions(options as never, 2)).toThrow(TypeError);
    expect(() => resolveOptions(options as never, 2)).toThrow(message);
  });

  test('defaults follow the optimizer: PyTorch\'s learning rate and weight decay for adam and adamw', () => {
    expect(resolveOptions({}, 1)).toMatchObject({ optimizer: 'sgd', lrSchedule: 'step', learningRate: 0.01, weightDecay: 0 });
    expect(resolveOptions({ optimizer: 'adam' }, 1)).toMatchObject({ learningRate: 0.001, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(resolveOptions({ optimizer: 'adamw', model: 'lenet5-softmax' }, 1)).toMatchObject({ learningRate: 0.001, weightDecay: 0.01 });
  });

  test('the command line: flags from the same definitions; bad values end with one line', () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const lenet5 = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tempDir('optim-cli') });
    const help = lenet5('train', '--help').stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--optimizer <name> sgd (with momentum), adam or adamw, as torch.optim computes them (default: sgd) (choices: "sgd", "adam", "adamw")');
    expect(help).toContain('--lr-schedule <name>');
    expect(help).toMatch(/--weight-decay <wd> .*\(default: 0; 0.01 for adamw\)/);
    expect(help).toContain('--epsilon <eps> adam, adamw: added to the denominator (default: 1e-8)');
    for (const [args, message] of [
      [['--optimizer', 'rmsprop'], /^error: option '--optimizer <name>' argument 'rmsprop' is invalid. Allowed choices are sgd, adam, adamw.$/],
      [['--beta2', '1'], /^error: option '--beta2 <b>' argument '1' is invalid. must be a number from 0 and below 1.$/],
      [['--optimizer', 'adam', '--momentum', '0.5'], /^lenet5: options.momentum is SGD's, but options.optimizer is adam/],
    ] as const) {
      const r = lenet5('train', ...args);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    const run = lenet5('train', '--optimizer', 'adamw', '--weight-decay', '0.05', '--lr-schedule', 'cosine', '--epochs', '1', '--limit', '640', '--steps', '2', '--workers', '1', '--out', tempDir('optim-run'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/, adamw: lr 0.001 \(cosine to 0 over 10 steps\), betas 0.9, 0.999, epsilon 1e-8, weight decay 0.05, /);
  });
});
