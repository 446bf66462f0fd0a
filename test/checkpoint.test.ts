// Checkpoints: the safetensors layout PyTorch expects, bit-exact round trips, atomic saves,
// resume equivalence, and clear errors for damaged files.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { optimizerPath, readCheckpoint } from '../src/checkpoint.js';
import { loadMnist } from '../src/mnist-files.js';
import type { TrainerOptions } from '../src/options.js';
import { tempDir } from './helpers/tmp.js';

const mnist = loadMnist();
const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
const dir = () => tempDir('ckpt');

async function trained(options: TrainerOptions, steps: number): Promise<Trainer> {
  const t = await createTrainer({ data: mnist, limit: 640, workers: 2, ...options });
  open.push(t);
  for await (const _ of t.train({ steps })) void _;
  return t;
}

/** Reads a safetensors file straight from the format's definition, independently of src/. */
function independentRead(file: string) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const data = bytes.subarray(8 + n);
  const tensors = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape, begin: e.data_offsets[0], end: e.data_offsets[1] }))
    .sort((a, b) => a.begin - b.begin);
  return { n, header, data, tensors, metadata: header.__metadata__ as Record<string, string> };
}

describe.each(['lenet5', 'lenet5-softmax'] as const)('%s checkpoint', (model) => {
  test('has PyTorch names, layouts and F32 data; loads back bit for bit', async () => {
    const t = await trained({ model, seed: 3 }, 4);
    const path = join(dir(), 'model.safetensors');
    await t.save(path);
    const f = independentRead(path);
    expect((8 + f.n) % 8).toBe(0); // data starts 8-byte aligned
    const expected: Record<string, number[]> = {
      'c1.weight': [6, 1, 5, 5], 'c1.bias': [6], 'c3.weight': [16, 6, 5, 5], 'c3.bias': [16], 'c3.mask': [16, 6],
      'c5.weight': [120, 16, 5, 5], 'c5.bias': [120], 'f6.weight': [84, 120], 'f6.bias': [84],
      ...(model === 'lenet5' ? { 'rbf.centers': [10, 84] } : { 'out.weight': [10, 84], 'out.bias': [10] }),
    };
    expect(Object.fromEntries(f.tensors.map((x) => [x.name, x.shape]))).toEqual(expected);
    let at = 0;
    for (const x of f.tensors) {
      expect(x.dtype).toBe('F32');
      expect(x.begin).toBe(at); // back to back, in checkpoint order
      at = x.end;
      const values = new Float32Array(f.data.buffer.slice(f.data.byteOffset + x.begin, f.data.byteOffset + x.end));
      expect(values).toEqual(t.store.view(t.store.weights, x.name));
    }
    expect(at).toBe(f.data.length);
    expect(f.metadata).toMatchObject({ format: 'pt', model, step: '4', epoch: '0', seed: '3', batch_size: '64', shards: '2', weights_sha256: await t.weightsSha256() });
    if (model === 'lenet5') expect(f.metadata.j).toBe('0.1');
    // The C3 mask is 1 where connected; the weights are 0 where it is 0.
    const back = await readCheckpoint(path);
    expect(Buffer.from(back.weights.buffer).equals(Buffer.from(t.store.weights.slice().buffer))).toBe(true);
    expect(Buffer.from(back.momentum!.buffer).equals(Buffer.from(t.store.momentum.slice().buffer))).toBe(true);
    expect(back.step).toBe(4);
  });
});

test('resuming at a step boundary gives the same final weights as an uninterrupted run (across an epoch and a learning-rate change)', async () => {
  const options = { model: 'lenet5', seed: 21, lrDecayEvery: 1, shards: 2 } as const; // 10 steps per epoch
  const straight = await trained(options, 17);
  const first = await trained(options, 8);
  const path = join(dir(), 'half.safetensors');
  await first.save(path);
  await first.close();
  const resumed = await createTrainer({ data: mnist, workers: 1, init: path }); // settings come from the checkpoint
  open.push(resumed);
  expect(resumed.step).toBe(8);
  expect(resumed.options).toMatchObject({ seed: 21, lrDecayEvery: 1, shards: 2, limit: 640, model: 'lenet5' });
  for await (const _ of resumed.train({ steps: 17 })) void _;
  expect(await resumed.weightsSha256()).toBe(await straight.weightsSha256());
  expect(Buffer.from(resumed.store.momentum.slice().buffer).equals(Buffer.from(straight.store.momentum.slice().buffer))).toBe(true);
});

describe('saving is atomic', () => {
  test('a save that fails leaves the previous checkpoint whole and no temporary files', async () => {
    const t = await trained({ model: 'lenet5-softmax', seed: 1 }, 2);
    const d = dir();
    const path = join(d, 'model.safetensors');
    await t.save(path);
    const before = readFileSync(path);
    for await (const _ of t.train({ steps: 3 })) void _;
    // Make the second file of the pair impossible to write: a directory where the optimizer file goes.
    const { rmSync } = await import('node:fs');
    rmSync(optimizerPath(path));
    mkdirSync(optimizerPath(path));
    await expect(t.save(path)).rejects.toThrow();
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('damaged checkpoints fail with a clear message', () => {
  const make = async (seed = 1) => {
    const t = await trained({ model: 'lenet5', seed }, 1);
    const path = join(dir(), 'model.safetensors');
    await t.save(path);
    return path;
  };

  test('truncated, not safetensors, corrupt data, or a stray optimizer file', async () => {
    const path = await make();
    const bytes = readFileSync(path);
    const variant = (name: string, b: Uint8Array) => {
      const p = join(dir(), name);
      writeFileSync(p, b);
      return p;
    };
    await expect(readCheckpoint(variant('short.safetensors', bytes.subarray(0, bytes.length - 100)))).rejects.toThrow(/short.safetensors: not a valid safetensors checkpoint: tensor \S+ \[.*\] claims bytes/);
    await expect(readCheckpoint(variant('text.safetensors', new TextEncoder().encode('hello world, not a checkpoint')))).rejects.toThrow(/text.safetensors: not a valid safetensors checkpoint: header length \d+ does not fit/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 5] ^= 0xff;
    await expect(readCheckpoint(variant('flipped.safetensors', flipped))).rejects.toThrow(/flipped.safetensors: the tensor data does not match its recorded weights_sha256; the file is corrupt/);
    const other = await make();
    writeFileSync(optimizerPath(path), readFileSync(optimizerPath(other)).subarray(0, 8)); // unrelated junk
    await expect(readCheckpoint(path)).rejects.toThrow(/model.optim.safetensors: not a valid safetensors checkpoint/);
    await expect(readCheckpoint(join(dir(), 'missing.safetensors'))).rejects.toThrow(/checkpoint .*missing.safetensors does not exist/);
  });

  test('an optimizer file from another save (an interrupted save): the weights load, the momentum restarts, with a warning', async () => {
    const path = await make();
    const other = await make(2); // another run: different weights
    writeFileSync(optimizerPath(path), readFileSync(optimizerPath(other)));
    const ckpt = await readCheckpoint(path);
    expect(ckpt.momentum).toBeNull();
    expect(ckpt.warning).toMatch(/model.optim.safetensors belongs to another save .*momentum restarts at zero/);
    const t = await createTrainer({ data: mnist, init: path, workers: 1 });
    open.push(t);
    expect(t.warning).toBe(ckpt.warning);
    expect(t.store.momentum.every((v) => v === 0)).toBe(true);
    expect(t.store.weights).toEqual(ckpt.weights);
  });

  test('a checkpoint of another model is refused when a different model is asked for', async () => {
    const path = await make();
    await expect(createTrainer({ data: mnist, init: path, model: 'lenet5-softmax', workers: 1 })).rejects.toThrow(
      /options.model is lenet5-softmax but the checkpoint holds a lenet5 model/,
    );
  });
});
