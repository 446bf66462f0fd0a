import { describe, expect, test } from 'vitest';
import { initParam, modelOptionsOf, predictions, trainableCount, WEIGHT_INITS } from '../src/model.js';
import { MODEL_NAMES } from '../src/models/index.js';
import { C3_TABLE } from '../src/models/lenet5-trunk.js';
import { digitCentres } from '../src/models/digits.js';
import { specOf as createModel } from './helpers/setup.js';
import { layoutOf } from '../src/params.js';

describe('parameter specs', () => {
  test('lenet5 has the paper\'s C3 (1,516 trainable parameters) and 59,956 in all', () => {
    const spec = createModel('lenet5');
    const count = (name: string) => trainableCount(spec, spec.params.find((p) => p.name === name)!);
    expect(count('c3.weight') + count('c3.bias')).toBe(1516);
    expect(count('c1.weight') + count('c1.bias')).toBe(156);
    expect(count('c5.weight') + count('c5.bias')).toBe(48_120);
    expect(count('f6.weight') + count('f6.bias')).toBe(10_164);
    expect(spec.params.reduce((n, p) => n + trainableCount(spec, p), 0)).toBe(59_956);
  });

  test('lenet5-softmax has a full C3 (2,416) and a dense head (850): 61,706 in all', () => {
    const spec = createModel('lenet5-softmax');
    const count = (name: string) => trainableCount(spec, spec.params.find((p) => p.name === name)!);
    expect(count('c3.weight') + count('c3.bias')).toBe(2416);
    expect(count('out.weight') + count('out.bias')).toBe(850);
    expect(spec.params.reduce((n, p) => n + trainableCount(spec, p), 0)).toBe(61_706);
  });

  test('tensors carry PyTorch names and layouts, in checkpoint order', () => {
    const names = (m: string) => layoutOf(createModel(m)).tensors.map((t) => `${t.name}[${t.shape.join(',')}]`);
    const trunk = ['c1.weight[6,1,5,5]', 'c1.bias[6]', 'c3.weight[16,6,5,5]', 'c3.bias[16]', 'c3.mask[16,6]', 'c5.weight[120,16,5,5]', 'c5.bias[120]', 'f6.weight[84,120]', 'f6.bias[84]'];
    expect(names('lenet5')).toEqual([...trunk, 'rbf.centers[10,84]']);
    expect(names('lenet5-softmax')).toEqual([...trunk, 'out.weight[10,84]', 'out.bias[10]']);
  });

  test('the C3 mask is the paper\'s connection table', () => {
    const mask = createModel('lenet5').params.find((p) => p.name === 'c3.mask')!.value!;
    for (let o = 0; o < 16; o++) for (let i = 0; i < 6; i++) expect(mask[o * 6 + i]).toBe(C3_TABLE[o].includes(i) ? 1 : 0);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(60);
    expect(createModel('lenet5-softmax').params.find((p) => p.name === 'c3.mask')!.value!.every((v) => v === 1)).toBe(true);
  });

  test("a bad j, or an option lenet5 does not have, is refused with its range or lenet5's options", () => {
    expect(() => modelOptionsOf(createModel('lenet5'), { j: Number.NaN })).toThrow(/options.modelOptions.j must be a number in \[0, 1000\] \(the loss's constant j: .*\), got NaN/);
    expect(() => modelOptionsOf(createModel('lenet5'), { k: 1 })).toThrow(/options.modelOptions.k is not an option of model lenet5; its options: j/);
    expect(() => modelOptionsOf(createModel('lenet5-softmax'), { j: 1 })).toThrow(/not an option of model lenet5-softmax; it has none/);
  });
});

describe('initialisation: U(-2.4/F, 2.4/F) (LeCun et al. 1998) or U(-1/sqrt(F), 1/sqrt(F)) (PyTorch), F = fan-in', () => {
  test.each(MODEL_NAMES.flatMap((m) => WEIGHT_INITS.map((s) => [m, s] as const)))('%s, %s: every trainable tensor within its bound, seeded, masked entries 0', (model, scheme) => {
    const spec = createModel(model);
    const bound = (fanIn: number) => (scheme === 'paper' ? 2.4 / fanIn : 1 / Math.sqrt(fanIn));
    spec.params.forEach((p, i) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const a = new Float32Array(size);
      const b = new Float32Array(size);
      const c = new Float32Array(size);
      initParam(spec, i, 7, a, scheme);
      initParam(spec, i, 7, b, scheme);
      initParam(spec, i, 8, c, scheme);
      expect(b).toEqual(a);
      if (!p.trainable) {
        expect(a).toEqual(p.value);
        return;
      }
      expect(c).not.toEqual(a);
      const perUnit = size / p.shape[0];
      a.forEach((v, k) => expect(Math.abs(v)).toBeLessThanOrEqual(Math.fround(bound(p.fanIn![Math.floor(k / perUnit)]))));
      // Uniform: with enough draws, the largest magnitude comes close to the bound.
      if (size >= 100) expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.8 * bound(Math.max(...p.fanIn!)));
      if (p.mask) {
        const mask = spec.params.find((q) => q.name === p.mask)!.value!;
        a.forEach((v, k) => mask[Math.floor(k / 25)] === 0 && expect(v).toBe(0));
      }
    });
    // C3 fan-in follows the table: 3, 4 or 6 input maps of 5x5.
    if (model === 'lenet5') expect(spec.params[2].fanIn).toEqual(C3_TABLE.map((t) => t.length * 25));
  });
});

describe('RBF centres', () => {
  test('ten distinct 7x12 bitmaps of +-1, far apart', () => {
    const c = digitCentres();
    expect(c.length).toBe(840);
    expect(c.every((v) => v === 1 || v === -1)).toBe(true);
    let minDistance = Infinity;
    for (let i = 0; i < 10; i++)
      for (let k = i + 1; k < 10; k++) {
        let d = 0;
        for (let q = 0; q < 84; q++) d += c[i * 84 + q] !== c[k * 84 + q] ? 1 : 0;
        minDistance = Math.min(minDistance, d);
      }
    expect(minDistance).toBeGreaterThanOrEqual(8);
  });

  test('lenet5 predicts the class of least penalty; lenet5-softmax the largest logit', () => {
    const scores = Float32Array.from([5, 4, 3, 9, 1, 8, 7, 6, 2, 0.5, /**/ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(predictions(createModel('lenet5'), scores, 2))).toEqual([9, 0]);
    expect(Array.from(predictions(createModel('lenet5-softmax'), scores, 2))).toEqual([3, 9]);
  });

  test("lenet5's posterior is the paper's: exp(-y_i) / (exp(-j) + sum exp(-y_k)), the rest being 'none of these'", () => {
    const j = 0.5;
    const spec = createModel('lenet5');
    const posterior = (sp: typeof spec, scores: number[]) => sp.probabilities(scores, { options: modelOptionsOf(sp, sp.name === 'lenet5' ? { j } : {}) });
    const y = [3, 0.2, 7, 5, 9, 4, 6, 8, 2, 1];
    const total = Math.exp(-j) + y.reduce((a, v) => a + Math.exp(-v), 0);
    const { probabilities, none } = posterior(spec, y);
    y.forEach((v, i) => expect(probabilities[i]).toBeCloseTo(Math.exp(-v) / total, 12));
    expect(none).toBeCloseTo(Math.exp(-j) / total, 12);
    expect(probabilities.reduce((a, b) => a + b, none)).toBeCloseTo(1, 12);
    // An input far from every centre (penalties of a few hundred): no digit, whatever the argmin.
    const far = posterior(spec, y.map((v) => 300 + v));
    expect(far.none).toBeGreaterThan(0.999999);
    expect(Math.max(...far.probabilities)).toBeLessThan(1e-6);
    // lenet5-softmax: the softmax of the logits, nothing left for none.
    const soft = posterior(createModel('lenet5-softmax'), [0, Math.log(3), 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(soft.none).toBe(0);
    expect(soft.probabilities[1]).toBeCloseTo(3 / 12, 12);
  });
});
