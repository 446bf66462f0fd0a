// Weights as named arrays: trainer.weights() and setWeights(), and a file of tensors only (what
// PyTorch's safetensors.torch.save_file(model.state_dict()) writes) loading as a model's weights.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { loadMnist } from '../src/mnist-files.js';
import { inlinePool } from '../src/pools/inline.js';
import type { TrainerOptions } from '../src/options.js';
import { tempDir } from './helpers/tmp.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function trainer(options: TrainerOptions, steps = 0): Promise<Trainer> {
  const t = await createTrainer({ data: mnist, limit: 640, workers: 1, pool: inlinePool, ...options });
  open.push(t);
  for await (const _ of t.train({ steps })) void _;
  return t;
}

/**
 * A safetensors file as the format defines it and safetensors' own writer lays it out: no
 * __metadata__, tensors sorted by name, the header padded with spaces to a multiple of 8.
 */
function tensorsOnlyFile(path: string, tensors: Record<string, { shape: number[]; values: Float32Array }>): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const n of names) {
    header[n] = { dtype: 'F32', shape: tensors[n].shape, data_offsets: [at, at + 4 * tensors[n].values.length] };
    at += 4 * tensors[n].values.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([head, Buffer.from(json), ...names.map((n) => Buffer.from(tensors[n].values.buffer, tensors[n].values.byteOffset, tensors[n].values.byteLength))]));
}

describe.each(['lenet5', 'lenet5-softmax'] as const)('%s', (model) => {
  test('weights() gives every tensor by name, as copies; setWeights() puts them into another trainer', async () => {
    const a = await trainer({ model, seed: 2 }, 3);
    const w = a.weights();
    expect(Object.keys(w)).toEqual(a.store.layout.tensors.map((t) => t.name));
    expect(w['c1.weight'].shape).toEqual([6, 1, 5, 5]);
    expect(w['c1.weight'].values).toEqual(a.store.view(a.store.weights, 'c1.weight'));
    const before = await a.weightsSha256();
    w['c1.weight'].values.fill(7); // a copy: the trainer's weights do not move
    expect(await a.weightsSha256()).toBe(before);

    const b = await trainer({ model, seed: 9 });
    expect(await b.weightsSha256()).not.toBe(before);
    await b.setWeights(a.weights());
    expect(await b.weightsSha256()).toBe(before);
    // One tensor alone; plain arrays work too.
    await b.setWeights({ 'c1.bias': [1, 2, 3, 4, 5, 6] });
    expect([...b.weights()['c1.bias'].values]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.weights()['c5.weight'].values).toEqual(a.weights()['c5.weight'].values);
    // Training goes on from the weights set.
    const ev = await b.runStep();
    expect(Number.isFinite(ev.loss)).toBe(true);
  });

  test('a file of tensors only loads as the weights of the model whose tensors it holds, at step 0', async () => {
    const a = await trainer({ model, seed: 4 }, 2);
    const w = a.weights();
    if (model === 'lenet5') {
      delete w['c3.mask']; // fixed tensors a PyTorch twin may not save: the model's own are used
      delete w['rbf.centers'];
    }
    const path = join(tempDir('weights'), 'state_dict.safetensors');
    tensorsOnlyFile(path, w);
    const b = await trainer({ init: path });
    expect(b.options.model).toBe(model);
    expect(b.step).toBe(0);
    expect(await b.weightsSha256()).toBe(await a.weightsSha256());
    // Read as the other model, the file's tensors do not fit it.
    const other = model === 'lenet5' ? 'lenet5-softmax' : 'lenet5';
    await expect(createTrainer({ data: mnist, init: path, model: other, pool: inlinePool })).rejects.toThrow(model === 'lenet5' ? /no tensor out.weight; a lenet5-softmax checkpoint has/ : /unexpected tensors out.bias, out.weight for a lenet5 model/);
    // A checkpoint of ours names its model: asking for another is refused up front.
    const saved = join(tempDir('weights'), 'model.safetensors');
    await a.save(saved);
    await expect(createTrainer({ data: mnist, init: saved, model: other, pool: inlinePool })).rejects.toThrow(new RegExp(`options.model is ${other} but the checkpoint holds a ${model} model`));
  });
});

test('setWeights refuses what does not fit, with what to change, and changes nothing', async () => {
  const t = await trainer({ model: 'lenet5', seed: 1 });
  const before = await t.weightsSha256();
  const cases: [Parameters<Trainer['setWeights']>[0], RegExp][] = [
    [{ 'c9.weight': [1] }, /lenet5 has no tensor c9.weight; its tensors are c1.weight, c1.bias/],
    [{ 'c1.bias': [1, 2, 3] }, /c1.bias needs 6 values \(\[6\]\), got 3/],
    [{ 'c1.bias': { shape: [2, 3], values: new Float32Array(6) } }, /c1.bias is \[6\], got shape \[2, 3\]/],
    [{ 'c1.bias': [0, 0, NaN, 0, 0, 0] }, /c1.bias\[2\] is NaN; weights must be finite numbers/],
    [{ 'c3.mask': new Float32Array(96).fill(1) }, /c3.mask is fixed in a lenet5 model but differs from its definition/],
    [{ 'c3.weight': new Float32Array(2400).fill(0.1) }, /c3.weight has non-zero weights where c3.mask is 0/],
  ];
  for (const [w, message] of cases) await expect(t.setWeights({ 'c1.weight': new Float32Array(25 * 6), ...w })).rejects.toThrow(message);
  expect(await t.weightsSha256()).toBe(before);
});

test('a file of tensors that fits no built-in model says so', async () => {
  const path = join(tempDir('weights'), 'other.safetensors');
  tensorsOnlyFile(path, { 'fc.weight': { shape: [2, 2], values: new Float32Array(4) } });
  await expect(createTrainer({ data: mnist, init: path, pool: inlinePool })).rejects.toThrow(/a file of tensors only \(no metadata\) whose tensors fit no built-in model; give the model/);
});
