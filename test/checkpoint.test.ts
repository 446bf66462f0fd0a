// Checkpoints: the safetensors layout PyTorch expects, bit-exact round trips, atomic saves,
// resume equivalence, strict reading, and clear errors for damaged files.
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createTrainer, type Trainer } from '../src/trainer.js';
import { optimizerPath, readCheckpoint } from '../src/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/safetensors.js';
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
    rmSync(optimizerPath(path));
    mkdirSync(optimizerPath(path));
    await expect(t.save(path)).rejects.toThrow();
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

// A full disk for real: a 2 MB tmpfs, which needs root; elsewhere the test says it is skipped.
const disk = tempDir('full-disk');
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]).status === 0;
if (mounted) afterAll(() => void spawnSync('umount', [disk]));
else console.warn(`checkpoint.test.ts: the full-disk test is skipped: cannot mount a tmpfs at ${disk} (needs root)`);

describe('saving onto a full disk', () => {
  test.skipIf(!mounted)('fails with exit status 1 and the reason; the earlier checkpoint still loads with its old hash', async () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const path = join(disk, 'model.safetensors');
    const train = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'train', '--limit', '640', '--save', path, '--save-every', '0', '--json', '--out', join(dir(), 'run'), ...args], { encoding: 'utf8' });
    const first = train('--steps', '3');
    expect(first.status, first.stderr).toBe(0);
    const hash = JSON.parse(first.stdout.trim().split('\n').at(-1)!).weightsSha256;
    // Fill the disk, leaving room for the start-up check but not for a checkpoint (~500 KB).
    const { bavail, bsize } = statfsSync(disk);
    writeFileSync(join(disk, 'filler'), new Uint8Array(bavail * bsize - 64 * 1024));
    const second = train('--steps', '6', '--init', path);
    expect(second.status).toBe(1);
    const lines = second.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^lenet5: warning: cannot save \S+: no space left on device \(ENOSPC\); nothing has been saved yet; training goes on$/);
    expect(lines.at(-1)).toMatch(/^lenet5: the final checkpoint could not be saved \(cannot save \S+: no space left on device \(ENOSPC\)\); nothing was saved; free space or give another --save$/);
    expect(lines).toHaveLength(2); // one warning at the failure, one final line
    const kept = await readCheckpoint(path);
    expect(kept.step).toBe(3);
    expect(kept.metadata.weights_sha256).toBe(hash);
    expect(kept.momentum).not.toBeNull();
    expect(readdirSync(disk).sort()).toEqual(['filler', 'model.optim.safetensors', 'model.safetensors']); // no temporary left
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
    await expect(readCheckpoint(join(dir(), 'missing.safetensors'))).rejects.toThrow(/checkpoint .*missing.safetensors does not exist/);
    await expect(readCheckpoint(dir())).rejects.toThrow(/^checkpoint \S+ is a directory \(or another non-file\); give the path of a file$/);
    const trailing = variant('trailing.safetensors', Uint8Array.from([...bytes, 0, 0, 0, 0]));
    await expect(readCheckpoint(trailing)).rejects.toThrow(/trailing.safetensors: not a valid safetensors checkpoint: 4 bytes after the last tensor belong to no tensor/);
  });

  test('the optimizer file matters only to resuming: missing or damaged, the model loads with a warning', async () => {
    const path = await make();
    const straight = await readCheckpoint(path);
    expect(straight.warning).toBeNull();
    expect(straight.momentum).not.toBeNull();
    writeFileSync(optimizerPath(path), readFileSync(optimizerPath(path)).subarray(0, 300)); // cut short
    const damaged = await readCheckpoint(path);
    expect(damaged.momentum).toBeNull();
    expect(damaged.weights).toEqual(straight.weights);
    expect(damaged.warning).toMatch(/model.optim.safetensors: not a valid safetensors checkpoint: .*; momentum restarts at zero/);
    rmSync(optimizerPath(path));
    const missing = await readCheckpoint(path);
    expect(missing.momentum).toBeNull();
    expect(missing.warning).toMatch(/^no optimizer file \S+model.optim.safetensors: momentum restarts at zero/);
    const t = await createTrainer({ data: mnist, init: path, workers: 1 });
    open.push(t);
    expect(t.warning).toBe(missing.warning);
    expect(t.store.momentum.every((v) => v === 0)).toBe(true);
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

describe('checkpoints are read strictly', () => {
  /** A saved lenet5 checkpoint, rewritten with `edit` applied to its tensors and metadata. */
  const rewritten = async (edit: (tensors: NamedTensor[], meta: Record<string, string>) => void) => {
    const t = await trained({ model: 'lenet5', seed: 6 }, 1);
    const path = join(dir(), 'model.safetensors');
    await t.save(path);
    const f = decodeSafetensors(readFileSync(path), path);
    const tensors = f.tensors.map((x) => ({ ...x, data: x.data.slice() }));
    const meta = { ...f.metadata };
    edit(tensors, meta);
    writeFileSync(path, encodeSafetensors(tensors, meta));
    return path;
  };

  test.each([
    ['step', '1e20', /metadata step is "1e20", not an integer in 0..2147483647/],
    ['step', '-5', /metadata step is "-5", not an integer in 0..2147483647/],
    ['shuffle', 'yes', /metadata shuffle is "yes", not true or false/],
    ['seed', '1.5', /metadata seed is "1.5", not an integer in 0..4294967295/],
    ['batch_size', '', /metadata batch_size is "", not a finite number/],
    ['learning_rate', '50', /metadata out of range: learningRate must be a number in \(0, 10\], got 50/],
    ['augment', '{"maxShift":', /metadata augment is "\{\\"maxShift\\":", not JSON or 'none'/],
    ['step', '0x10', /metadata step is "0x10", not a finite number/],
    ['seed', ' 7 ', /metadata seed is " 7 ", not a finite number/],
    ['format', 'tf', /metadata format is "tf"; this reads "pt" \(PyTorch layouts\) only/],
  ])('metadata %s = %j is refused, naming the file', async (key, value, message) => {
    const path = await rewritten((_, meta) => (meta[key] = value));
    await expect(readCheckpoint(path)).rejects.toThrow(message);
    await expect(readCheckpoint(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });

  test.each([Number.NaN, Number.POSITIVE_INFINITY])('weights holding %s are refused by eval, predict and --init alike', async (bad) => {
    const path = await rewritten((tensors, meta) => {
      tensors.find((x) => x.name === 'f6.weight')!.data[7] = bad;
      delete meta.weights_sha256; // without the hash, only the finiteness check stands in the way
    });
    const message = new RegExp(`model.safetensors: not finite: f6.weight\\[7\\] = ${bad}; this file cannot be used, take an earlier checkpoint`);
    await expect(readCheckpoint(path)).rejects.toThrow(message);
    await expect(createTrainer({ data: mnist, init: path, workers: 1 })).rejects.toThrow(message);
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    for (const args of [['eval', path], ['predict', path, join(dir(), 'any.png')]]) {
      if (args[0] === 'predict') {
        const png = new PNG({ width: 28, height: 28 }); // test digit 0, black ink on white
        mnist.test.images.subarray(0, 784).forEach((v, i) => png.data.set([255 - v, 255 - v, 255 - v, 255], 4 * i));
        writeFileSync(args[2], PNG.sync.write(png));
      }
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
      expect(r.status, args[0]).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  test.each([
    ['c3.mask', (v: Float32Array) => v.fill(1), /c3.mask is fixed in a lenet5 model but differs from its definition; this is not a lenet5 checkpoint/],
    ['rbf.centers', (v: Float32Array) => v.fill(0.5), /rbf.centers is fixed in a lenet5 model but differs from its definition/],
    ['c3.weight', (v: Float32Array) => (v[25 * 3] = 0.01), /c3.weight has non-zero weights where c3.mask is 0/], // map 0 does not read S2 map 3
  ])('an edited fixed tensor (%s) is refused: the file is not the model it names', async (name, edit, message) => {
    const path = await rewritten((tensors, meta) => {
      edit(tensors.find((x) => x.name === name)!.data);
      delete meta.weights_sha256;
    });
    await expect(readCheckpoint(path)).rejects.toThrow(message);
  });

  test('a checkpoint of ours that lacks a fixed tensor is refused (only a file of tensors alone may leave them out)', async () => {
    const path = await rewritten((tensors) => tensors.splice(tensors.findIndex((x) => x.name === 'c3.mask'), 1));
    await expect(readCheckpoint(path)).rejects.toThrow(/model.safetensors: no tensor c3.mask; a lenet5 checkpoint has c1.weight, c1.bias/);
  });

  test('a finite but altered momentum is caught by its checksum: a warning and a momentum restart', async () => {
    const t = await trained({ model: 'lenet5', seed: 6 }, 2);
    const path = join(dir(), 'model.safetensors');
    await t.save(path);
    const f = decodeSafetensors(readFileSync(optimizerPath(path)), 'x');
    const tensors = f.tensors.map((x) => ({ ...x, data: x.data.slice() }));
    tensors[0].data[0] += 1;
    writeFileSync(optimizerPath(path), encodeSafetensors(tensors, { ...f.metadata }));
    const ckpt = await readCheckpoint(path);
    expect(ckpt.momentum).toBeNull();
    expect(ckpt.warning).toMatch(/model.optim.safetensors: the data does not match its recorded momentum_sha256 \(damaged\): momentum restarts at zero/);
    await expect(readCheckpoint(optimizerPath(path))).rejects.toThrow(/model.optim.safetensors is an optimizer file; give the model file beside it \(\S+model.safetensors\)/);
  });

  test('the data must be the tensors back to back: a hole between two is refused', () => {
    // Two one-float tensors at bytes 0..4 and 8..12 of a 12-byte data section.
    const header = new TextEncoder().encode(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }));
    const bytes = new Uint8Array(8 + header.length + 12);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    expect(() => decodeSafetensors(bytes, 'holey.safetensors')).toThrow(/holey.safetensors: not a valid safetensors checkpoint: bytes 4..8 of the data belong to no tensor \(a hole before b\)/);
  });
});
