// Are tfjs-core's autodiff gradients of both LeNet-5 models right, on both kernel sets, and in the
// worker threads where users compute them?
import { afterAll, describe, expect, test } from 'vitest';
import { tf, useKernels, KERNEL_SETS } from '../src/tf.js';
import { loadMnist } from '../src/mnist-files.js';
import { modelOptionsOf, type ModelSpec } from '../src/model.js';
import { MODEL_NAMES } from '../src/models/index.js';
import type { ParamStore } from '../src/params.js';
import { computeGradient } from '../src/worker.js';
import { Coordinator } from '../src/coordinator.js';
import { resolveOptions } from '../src/options.js';
import { piscinaPool } from '../src/pools/piscina.js';
import { inlinePool } from '../src/pools/inline.js';
import { batchOf, initialStore } from './helpers/setup.js';
import { directionalChecks } from './helpers/finite-differences.js';
import { referenceLoss } from './helpers/reference.js';

const mnist = loadMnist();

function lossAt(spec: ModelSpec, store: ParamStore, x: tf.Tensor4D, y: tf.Tensor2D): number {
  return tf.tidy(() => {
    const p: Record<string, tf.Tensor> = {};
    for (const t of store.layout.tensors) p[t.name] = tf.tensor(store.view(store.weights, t.name).slice(), [...t.shape]);
    const ctx = { options: modelOptionsOf(spec) };
    return spec.loss(spec.forward(p, x, ctx), y, 'mean', ctx).dataSync()[0];
  });
}

describe.each(KERNEL_SETS)('with the %s kernels', (kernels) => {
  describe.each(MODEL_NAMES)('%s', (model) => {
    test('each tensor: directional derivative along its gradient matches float32 central differences', async () => {
      await useKernels(kernels);
      // Weights x3 (the paper's init is small): every tensor's gradient is then large enough
      // (norm >= 3e-3) for a float32 difference quotient to resolve it.
      const { spec, store } = initialStore(model, 1, 3);
      const b = batchOf(mnist.train, [0, 1, 2, 3]);
      const g = new Float32Array(store.layout.size);
      computeGradient(spec, { options: modelOptionsOf(spec) }, store, b.x, b.y, g);
      // Step h = 3e-2 along the unit vector u = g_t / |g_t|. Error of (L(w+hu) - L(w-hu)) / 2h:
      // truncation h^2 L'''/6 and rounding ~ 8 eps32 |L| / h (eps32 = 6e-8, |L| <= 90): both stay
      // below 1e-3 |g_t| for these tensors (measured worst: 9e-4 for lenet5-softmax c1.bias);
      // we allow 1e-2, so a wrong gradient (sign, scale, missing term) cannot pass.
      for (const { name, norm, fd } of directionalChecks(store, g, () => lossAt(spec, store, b.x, b.y), 3e-2)) {
        expect(norm, name).toBeGreaterThan(3e-3);
        expect(Math.abs(fd - norm) / norm, `${name}: |g| ${norm}, difference quotient ${fd}`).toBeLessThan(1e-2);
      }
    });

    test('individual entries match float64 central differences of an independent float64 LeNet-5', async () => {
      await useKernels(kernels);
      const { spec, store } = initialStore(model, 2, 2);
      const b = batchOf(mnist.train, [5, 6, 7]);
      const g = new Float32Array(store.layout.size);
      const loss = computeGradient(spec, { options: modelOptionsOf(spec) }, store, b.x, b.y, g);
      const w64: Record<string, Float64Array> = Object.fromEntries(
        store.layout.tensors.map((t) => [t.name, Float64Array.from(store.view(store.weights, t.name))]),
      );
      const ref = () => referenceLoss(model as 'lenet5' | 'lenet5-softmax', w64, b.inputs, b.labels);
      expect(Math.abs(loss - ref()) / ref()).toBeLessThan(1e-6); // tfjs's float32 forward agrees
      // In float64, h = 1e-6 leaves truncation and rounding errors near 1e-10: the reference is
      // exact for our purpose. The float32 gradient carries relative rounding ~1e-6 of the
      // tensor's largest entries, so entries must agree within 1e-4 of that tensor's max |g|.
      let rng = 12345;
      const rand = (n: number) => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) % n);
      for (const t of store.layout.tensors.filter((v) => v.trainable)) {
        const gt = g.subarray(t.offset, t.offset + t.size);
        const scale = gt.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const biggest = [...gt.keys()].sort((p, q) => Math.abs(gt[q]) - Math.abs(gt[p])).slice(0, 4);
        const picks = [...new Set([...biggest, ...Array.from({ length: 12 }, () => rand(t.size))])];
        for (const i of picks) {
          const w = w64[t.name];
          const w0 = w[i];
          w[i] = w0 + 1e-6;
          const plus = ref();
          w[i] = w0 - 1e-6;
          const minus = ref();
          w[i] = w0;
          const fd = (plus - minus) / 2e-6;
          expect(Math.abs(gt[i] - fd), `${t.name}[${i}]: tfjs ${gt[i]}, float64 differences ${fd}`).toBeLessThan(1e-4 * scale + 1e-9);
        }
      }
    });
  });

  test('lenet5: C3 weights outside the connection table get zero gradient and stay zero; RBF centres never move', async () => {
    const options = resolveOptions({ model: 'lenet5', workers: 1, kernels, limit: 256, batchSize: 32, augment: false }, 1);
    const trainer = await new Coordinator(options, mnist).start(inlinePool);
    const s = trainer.store;
    const mask = s.view(s.weights, 'c3.mask');
    const centres = s.view(s.weights, 'rbf.centers').slice();
    const c3 = () => s.view(s.weights, 'c3.weight');
    const c3Start = c3().slice();
    const outside = [...c3().keys()].filter((k) => mask[Math.floor(k / 25)] === 0);
    expect(outside.length).toBe(16 * 6 * 25 - 1500); // 36 of the 96 map pairs are unconnected
    expect(outside.every((k) => c3()[k] === 0)).toBe(true);
    for (let k = 0; k < 5; k++) await trainer.runStep();
    const grad = s.view(s.grad, 'c3.weight');
    expect(outside.every((k) => grad[k] === 0 && c3()[k] === 0)).toBe(true);
    // ...while the connected ones did train, and the centres are bit-for-bit what they were.
    expect(c3().some((v, k) => mask[Math.floor(k / 25)] === 1 && v !== c3Start[k])).toBe(true);
    expect(s.view(s.weights, 'rbf.centers')).toEqual(centres);
    expect(s.view(s.grad, 'rbf.centers').every((v) => v === 0)).toBe(true);
    await trainer.close();
  });
});

describe('in Piscina worker threads, as users run them', () => {
  const trainers: Coordinator[] = [];
  afterAll(async () => {
    await Promise.all(trainers.map((t) => t.close()));
  });

  test.each(MODEL_NAMES)('%s: gradients are registered there and equal the calling thread\'s bit for bit', async (model) => {
    const base = { model, workers: 1, shards: 1, limit: 64, batchSize: 64, augment: false } as const;
    const inThread = await new Coordinator(resolveOptions(base, 1), mnist).start(inlinePool);
    const inWorker = await new Coordinator(resolveOptions(base, 1), mnist).start(piscinaPool);
    trainers.push(inThread, inWorker);
    const a = await inThread.runStep();
    const b = await inWorker.runStep();
    expect(b.loss).toBe(a.loss);
    const g = inWorker.store.grad;
    expect(g.some((v) => v !== 0)).toBe(true);
    expect(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(inThread.store.grad.buffer, inThread.store.grad.byteOffset, inThread.store.grad.byteLength))).toBe(true);
  });
});
