// A user's own model: defineModel's checks, the example models (gradients against finite
// differences, the same bits on 1, 2 and 4 workers), a model file written outside the package
// trained through the command line and the API, and data of another image shape and class count.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { tf, useKernels } from '../src/tf.js';
import { tf as publicTf } from '../src/model-ops.js';
import { defineModel, initParam, modelOptionsOf, type ModelDefinition, type ModelSpec } from '../src/model.js';
import { loadModel } from '../src/models/index.js';
import { loadMnist } from '../src/mnist-files.js';
import { createDataset } from '../src/data.js';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { computeGradient } from '../src/worker.js';
import { ParamStore } from '../src/params.js';
import { batchOf } from './helpers/setup.js';
import { directionalChecks } from './helpers/finite-differences.js';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist', 'cli.js');
const mnist = loadMnist();
const EXAMPLES = ['examples/models/mlp.js', 'examples/models/cnn.js'];
const open: Trainer[] = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const trainer = async (o: Parameters<typeof createTrainer>[0]) => {
  const t = await createTrainer(o);
  open.push(t);
  return t;
};

async function finalHash(t: Trainer, steps: number): Promise<string> {
  let hash = '';
  for await (const ev of t.train({ steps })) if (ev.type === 'done') hash = ev.weightsSha256;
  return hash;
}

describe('defineModel', () => {
  const base: ModelDefinition = {
    name: 'tiny', image: [4, 4, 1], classes: 3,
    params: [{ name: 'fc.weight', shape: [3, 16] }, { name: 'fc.bias', shape: [3], fanIn: 16 }],
    // Written as a user writes it: with the package's `tf`, typed by the public API.
    forward: (p, x) => publicTf.add(publicTf.matMul(publicTf.reshape(x, [x.shape[0], 16]), p['fc.weight'], false, true), p['fc.bias']),
  };
  test('fills the defaults: input = image, argmax, softmax cross-entropy, p / 255, PyTorch-style fan-in', () => {
    const spec = defineModel(base);
    expect(spec).toMatchObject({ name: 'tiny', image: [4, 4, 1], input: [4, 4, 1], classes: 3, predict: 'argmax', scoreName: 'logit', augment: null });
    expect(spec.params.map((p) => [p.name, p.trainable, p.init, p.fanIn])).toEqual([['fc.weight', true, 'uniform', [16, 16, 16]], ['fc.bias', true, 'uniform', [16, 16, 16]]]);
    const out = new Float32Array(16);
    spec.prepare(Uint8Array.from({ length: 16 }, (_, i) => i * 17), out, null);
    expect(out[15]).toBe(1);
    expect(out[1]).toBe(Math.fround(17 / 255));
    expect(defineModel(spec)).toBe(spec); // a checked spec passes as it is
  });

  test.each([
    [{ name: 'my model' }, /defineModel: name must be 1-64 letters, digits/],
    [{ image: [28, 28] }, /defineModel: image must be an \[H, W, C\] array of positive integers, got "\[28,28\]"/],
    [{ classes: 1 }, /defineModel: classes must be an integer in 2..256, got 1/],
    [{ params: [] }, /defineModel: params must be a non-empty array/],
    [{ params: [{ name: 'b', shape: [3] }] }, /params\[0\] \(b\).fanIn must be given for a 1-D tensor with init 'uniform'/],
    [{ params: [{ name: 'w', shape: [3, 2] }, { name: 'w', shape: [2] , init: 'zeros' }] }, /params\[1\] \(w\).name must be unique/],
    [{ params: [{ name: 'w', shape: [3, 2], mask: 'm' }] }, /w.mask must be the name of a fixed tensor of 0s and 1s, got "m"/],
    [{ params: [{ name: 'w', shape: [3, 2], value: [1, 2] }] }, /params\[0\] \(w\).value must be 6 numbers \(shape \[3, 2\]\), got 2/],
    [{ forward: undefined }, /defineModel: forward must be a function/],
    [{ predict: 'max' }, /defineModel: predict must be 'argmax' or 'argmin', got "max"/],
    [{ options: { j: { default: 5, min: 0, max: 1, description: '' } } }, /options.j must be finite \{ default, min, max \} with min <= default <= max/],
  ])('%j is refused: %s', (change, message) => {
    expect(() => defineModel({ ...base, ...change } as ModelDefinition)).toThrow(message);
  });

  test('a module that is missing, or exports no model, is refused with what to do', async () => {
    const dir = tempDir('bad-model');
    writeFileSync(join(dir, 'none.js'), 'export const x = 1;\n');
    await expect(loadModel(join(dir, 'none.js'))).rejects.toThrow(/has no default export of a model; end it with `export default defineModel\(\{ \.\.\. \}\)`/);
    await expect(loadModel(join(dir, 'missing.js'))).rejects.toThrow(/options.model: cannot load model module \S+missing.js/);
    // A model by URL: the same module, its source the URL itself (what every worker imports).
    const url = pathToFileURL(join(root, 'examples', 'models', 'mlp.js')).href;
    expect(await loadModel(url)).toMatchObject({ source: url, spec: { name: 'mnist-mlp', classes: 10 } });
    await expect(loadModel('lenet6')).rejects.toThrow(/"lenet6" is not a built-in model \(lenet5, lenet5-softmax\); for a model file give its path, e.g. .\/lenet6.js/);
  });
});

describe.each(EXAMPLES)('%s', (file) => {
  test("every trainable tensor's gradient: the directional derivative matches float32 central differences", async () => {
    await useKernels('fast');
    const { spec } = await loadModel(file);
    // PyTorch's initialisation: units well away from their kinks (the paper's tiny bound puts
    // most ReLUs at 0, where any step crosses one).
    const store = ParamStore.create(spec, 1);
    store.layout.tensors.forEach((t, i) => initParam(spec, i, 3, store.view(store.weights, t.name), 'pytorch'));
    const b = batchOf(mnist.train, [0, 1, 2, 3, 4, 5, 6, 7], spec);
    const ctx = { options: modelOptionsOf(spec) };
    const g = new Float32Array(store.layout.size);
    computeGradient(spec, ctx, store, b.x, b.y, g);
    const lossAt = (s: ModelSpec, st: ParamStore) =>
      tf.tidy(() => {
        const p: Record<string, tf.Tensor> = {};
        for (const t of st.layout.tensors) p[t.name] = tf.tensor(st.view(st.weights, t.name).slice(), [...t.shape]);
        return s.loss(s.forward(p, b.x, ctx), b.y, 'mean', ctx).dataSync()[0];
      });
    // ReLU and max pooling are piecewise linear: a small step (h = 1e-3 along the unit gradient)
    // crosses few kinks; float32 rounding (~8 eps |L| / h ~ 1e-3 |L|) stays below the 2% allowed
    // of |g|, and a wrong gradient (sign, scale, a missing term) is off by far more.
    for (const { name, norm, fd } of directionalChecks(store, g, () => lossAt(spec, store), 1e-3)) {
      expect(norm, name).toBeGreaterThan(1e-3);
      expect(Math.abs(fd - norm) / norm, `${name}: |g| ${norm}, difference quotient ${fd}`).toBeLessThan(2e-2);
    }
    b.x.dispose();
    b.y.dispose();
  });

  test('the same weights with 1, 2 and 4 worker threads (S = 4), no stock kernel in a step', async () => {
    const hashes: string[] = [];
    for (const workers of [1, 2, 4]) {
      const t = await trainer({ model: file, workers, shards: 4, data: mnist, limit: 1024 });
      const events = [];
      for await (const ev of t.train({ steps: 6 })) events.push(ev);
      expect(events.filter((e) => e.type === 'step' && e.fallbacks).flatMap((e) => (e.type === 'step' ? e.fallbacks : [])), 'stock kernels').toEqual([]);
      const done = events.at(-1)!;
      if (done.type !== 'done') throw new Error('no done event');
      hashes.push(done.weightsSha256);
      await t.close();
    }
    expect(new Set(hashes).size, hashes.join(' ')).toBe(1);
  });
});

describe('a model file outside the package', () => {
  // A user's project: the model imports 'lenet5-parallel' from its own node_modules (here a link
  // to this package) and learns 3 classes of 8x8x2 images: a bright bar, top, middle or bottom,
  // in channel 0 (channel 1 is noise).
  const project = tempDir('user-project');
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(root, join(project, 'node_modules', 'lenet5-parallel'), 'dir');
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(project, 'bars.js'),
    `import { defineModel, dense, denseParams } from 'lenet5-parallel';
export default defineModel({
  name: 'bars',
  image: [8, 8, 2],
  classes: 3,
  params: [...denseParams('hidden', 128, 16), ...denseParams('out', 16, 3)],
  forward: (p, x) => dense(dense(x, p['hidden.weight'], p['hidden.bias'], { activation: 'tanh' }), p['out.weight'], p['out.bias']),
  defaults: { learningRate: 0.05 },
});
`,
  );
  /** n samples: images [n, 8, 8, 2] bytes, labels 0..2, seeded. */
  const bars = (n: number, seed: number) => {
    const images = new Uint8Array(new SharedArrayBuffer(n * 128));
    const labels = new Uint8Array(new SharedArrayBuffer(n));
    let s = seed;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < n; k++) {
      const c = Math.floor(rand() * 3);
      labels[k] = c;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          const bar = Math.floor(y / 3) === c && y % 3 !== 2;
          images[k * 128 + (y * 8 + x) * 2] = bar ? 150 + Math.floor(rand() * 100) : Math.floor(rand() * 90);
          images[k * 128 + (y * 8 + x) * 2 + 1] = Math.floor(rand() * 256);
        }
    }
    return { images, labels, count: n, shape: [8, 8, 2] as const, source: `bars(${seed})` };
  };
  const data = { train: bars(2048, 1), test: bars(512, 2) };
  const model = join(project, 'bars.js');

  test('trains through the API on 2 worker threads: 8x8x2 images, 3 classes, far below chance', async () => {
    const t = await trainer({ model, data, workers: 2, augment: false });
    expect(t.options).toMatchObject({ model: 'bars', modelSource: `file://${model}`, learningRate: 0.05, augment: null });
    let error = 1;
    for await (const ev of t.train({ steps: 150 })) if (ev.type === 'done') error = ev.testError;
    expect(error).toBeLessThan(0.1); // chance: 67%
    const w = t.weights();
    expect(Object.keys(w)).toEqual(['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']);
    expect(w['hidden.weight'].shape).toEqual([16, 128]);
    const { predicted } = await t.predict(data.test.images.slice(0, 10 * 128));
    expect(predicted.length).toBe(10);
    await expect(t.predict(new Uint8Array(784))).rejects.toThrow(/predict: images must be a Uint8Array or Float32Array of n x 128 values \(8x8x2 each\), got 784 values/);
    // MNIST does not fit it: the shape is named.
    await expect(createTrainer({ model, workers: 1 })).rejects.toThrow(/the training set \(\S+\) holds 28x28 images but model bars reads 8x8x2/);
  });

  test('float32 images and integer labels (createDataset) train to the bits of the same values as bytes', async () => {
    const floats = (ds: typeof data.train) => createDataset({ images: Float32Array.from(ds.images, (p) => p / 255), labels: Array.from(ds.labels), shape: [8, 8, 2] });
    const asBytes = await trainer({ model, data, workers: 2, augment: false });
    const asFloats = await trainer({ model, data: { train: floats(data.train), test: floats(data.test) }, workers: 2, augment: false });
    const [a, b] = [await finalHash(asBytes, 20), await finalHash(asFloats, 20)];
    expect(b).toBe(a); // the default prepare(): bytes p / 255, floats as given (the same float32 values)
    // lenet5 reads float pixels on the 0..255 scale as it reads bytes, distortions included.
    const mnistFloats = (ds: typeof mnist.train) =>
      createDataset({ images: Float32Array.from(ds.images.subarray(0, 640 * 784)), labels: ds.labels.subarray(0, 640), shape: [28, 28, 1] });
    const small = { train: mnistFloats(mnist.train), test: mnistFloats(mnist.test) };
    const lenet = await Promise.all([mnist, small].map((d) => trainer({ model: 'lenet5', data: d, limit: 640, workers: 1 })));
    expect(await finalHash(lenet[1], 5)).toBe(await finalHash(lenet[0], 5));
    expect(() => createDataset({ images: new Float32Array(128).fill(Number.NaN), labels: [0], shape: [8, 8, 2] })).toThrow(/createDataset.images\[0\] is NaN; image values must be finite/);
    expect(() => createDataset({ images: new Uint8Array(128), labels: [2.5], shape: [8, 8, 2] })).toThrow(/createDataset: labels\[0\] is 2.5; labels must be integers 0..255/);
  });

  test('trains, resumes and evaluates through the command line from its own folder', () => {
    // The command line reads IDX files: MNIST-shaped ones are what the bars model does not take,
    // so this model is trained on a copy of it that reads 28x28 digits.
    writeFileSync(
      join(project, 'digits.js'),
      `import { defineModel, dense, denseParams } from 'lenet5-parallel';
export default defineModel({
  name: 'digits',
  image: [28, 28, 1],
  classes: 10,
  params: denseParams('fc', 784, 10),
  forward: (p, x) => dense(x, p['fc.weight'], p['fc.bias']),
});
`,
    );
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: project, encoding: 'utf8' });
    const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
    const base = ['--model', './digits.js', '--limit', '1280', '--workers', '2', '--json'];
    const full = run('train', ...base, '--steps', '30', '--out', 'full');
    expect(full.status, full.stderr).toBe(0);
    const done = last(full.stdout);
    expect(done).toMatchObject({ type: 'done', step: 30 });
    expect(done.testError).toBeLessThan(0.3);
    const half = run('train', ...base, '--steps', '15', '--out', 'half');
    expect(half.status, half.stderr).toBe(0);
    // Resuming a model that is not built in needs its module; with it, the bits of the full run.
    const noModel = run('train', '--init', 'half/model.safetensors', '--steps', '30', '--json', '--out', 'resumed');
    expect(noModel.status).not.toBe(0);
    expect(noModel.stderr).toMatch(/^lenet5: half\/model.safetensors: metadata model is "digits", not a built-in model \(lenet5, lenet5-softmax\): give its module \(options.model, --model PATH\) if it is your own\n$/);
    const resumed = run('train', '--init', 'half/model.safetensors', '--model', './digits.js', '--workers', '2', '--steps', '30', '--json', '--out', 'resumed');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(last(resumed.stdout).weightsSha256).toBe(done.weightsSha256);
    const ev = run('eval', 'full/model.safetensors', '--model', './digits.js', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect(last(ev.stdout)).toMatchObject({ model: 'digits', weightsSha256: done.weightsSha256, testError: done.testError });
  });
});
