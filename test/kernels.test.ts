// The fast kernels against the stock tfjs-backend-cpu kernels, on random inputs, for every shape
// LeNet-5 uses (at two batch sizes, one odd), plus cases that must fall back to the stock kernels.
import { describe, expect, test } from 'vitest';
import { tf, useKernels } from '../src/tf.js';
import { stream, uniform01 } from '../src/rng.js';
import { FAST_BACKEND } from '../src/kernels/backend.js';
import { TANH_GRAD } from '../src/kernels/elementwise.js';
import { heapStats } from '../src/kernels/heap.js';
import { resampleRows } from '../src/kernels/resample.js';
import { Arena, kernels, scoped } from '../src/kernels/wasm.js';
import { roundUp4 } from '../src/kernels/util.js';

let draw = 0;
function random(shape: number[]): tf.Tensor {
  const rng = stream(99, draw++);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => 2 * uniform01(rng) - 1), shape);
}

/**
 * Runs `op` on the same inputs with each kernel set. Float32 results may differ by summation
 * order: the fast GEMM sums K terms in float32 chunks of 128, the stock kernels in float64; with
 * |terms| <= 1 that is within K 2^-24 of the result's scale. We allow 1e-5 of the largest output
 * magnitude (K <= 25,088 here: 1.5e-3 would be the crude worst case, real errors are ~1e-6).
 */
async function compare(op: (inputs: tf.Tensor[]) => tf.Tensor, shapes: number[][], exact = false): Promise<void> {
  const inputs = shapes.map(random);
  const out: Record<string, { shape: number[]; values: Float32Array }> = {};
  for (const kernels of ['stock', 'fast'] as const) {
    await useKernels(kernels);
    const moved = inputs.map((t) => tf.tensor(t.dataSync().slice(), t.shape));
    const y = op(moved);
    out[kernels] = { shape: y.shape, values: y.dataSync() as Float32Array };
    tf.dispose([...moved, y]);
  }
  expect(tf.getBackend()).toBe(FAST_BACKEND);
  expect(out.fast.shape).toEqual(out.stock.shape);
  const scale = out.stock.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  out.stock.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - out.fast.values[i]))));
  if (exact) expect(worst).toBe(0);
  else expect(worst).toBeLessThanOrEqual(1e-5 * scale);
}

const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) =>
  tf.engine().runKernel(kernel, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;

// LeNet-5's convolutions: [input HWC, filter HWIO, strides, padding]; five single-channel ones that
// take the direct kernels' other branches (4, 7, 5 and 3 channels: a last block of fewer output
// channels, an odd last channel; filters 3, 2 and 4 wide, which conv1Filter's two passes of taps
// cut differently; an odd number of output rows, conv1Forward's last single row);
// then strides, 'same' and explicit padding, odd sizes, 1x1 and many channels (patch rows).
const CONVS = [
  ['C1', [32, 32, 1], [5, 5, 1, 6], 1, 'valid'],
  ['C3', [14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
  ['one channel in, 4 out', [12, 12, 1], [5, 5, 1, 4], 1, 'valid'],
  ['one channel in, 7 out, 3x3', [14, 14, 1], [3, 3, 1, 7], 1, 'valid'],
  ['one channel in, 5 out, 4x2', [11, 9, 1], [4, 2, 1, 5], 1, 'valid'],
  ['one channel in, 3 out, 1x4', [6, 11, 1], [1, 4, 1, 3], 1, 'valid'],
  ['one channel in, 6 out, odd output rows', [13, 12, 1], [5, 5, 1, 6], 1, 'valid'],
  ['3x3 same, one channel in, 32 out', [10, 10, 1], [3, 3, 1, 32], 1, 'same'],
  ['3x3 same, 3 in, 8 out', [9, 9, 3], [3, 3, 3, 8], 1, 'same'],
  ['3x3 same, stride 2, odd size', [9, 9, 2], [3, 3, 2, 5], 2, 'same'],
  ['5x5 valid, stride 2', [11, 11, 4], [5, 5, 4, 6], 2, 'valid'],
  ['strides 2 and 1, 3x2 filter, same', [8, 7, 3], [3, 2, 3, 4], [2, 1], 'same'],
  ['explicit padding', [6, 7, 2], [3, 3, 2, 3], 1, [[0, 0], [1, 2], [2, 0], [0, 0]]],
  ['1x1, 24 in, 12 out', [6, 6, 24], [1, 1, 24, 12], 1, 'valid'],
  ['5x5 same, 32 in, 64 out', [7, 7, 32], [5, 5, 32, 64], 1, 'same'],
] as const;

describe.each([32, 7])('batch %i', (n) => {
  describe.each(CONVS)('%s convolution', (_, hwc, f, strides, pad) => {
    const x = [n, ...hwc];
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
    const dy = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], [...f] as [number, number, number, number], strides as number, 1, pad as 'same').outShape;
    test('forward (Conv2D)', () => compare(([a, w]) => run('Conv2D', { x: a, filter: w }, attrs), [x, [...f]]));
    test('filter gradient (Conv2DBackpropFilter)', () =>
      compare(([a, g]) => run('Conv2DBackpropFilter', { x: a, dy: g }, { ...attrs, filterShape: [...f] }), [x, dy]));
    test('input gradient (Conv2DBackpropInput)', () =>
      compare(([g, w]) => run('Conv2DBackpropInput', { dy: g, filter: w }, { ...attrs, inputShape: x }), [dy, [...f]]));
  });

  test.each([
    [[28, 28, 6]],
    [[10, 10, 16]],
    [[7, 9, 3]], // odd sizes (the last row and column are dropped) and an odd channel count
  ])('2x2 average pooling of %j and its gradient', async (hwc) => {
    const x = [n, ...hwc];
    const y = [n, Math.floor(hwc[0] / 2), Math.floor(hwc[1] / 2), hwc[2]];
    await compare(([a]) => tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'), [x], true);
    await compare(([g, a]) => run('AvgPoolGrad', { dy: g, input: a }, { filterSize: 2, strides: 2, pad: 'valid' }), [y, x], true);
  });

  test.each([
    // [input HWC, window, stride, padding]: LeNet-like 2x2, overlapping 3x3 windows with 'same'
    // padding on an odd size, stride 1, a window wider than tall, fewer than 4 channels
    [[28, 28, 6], 2, 2, 'valid'],
    [[9, 9, 5], 3, 2, 'same'],
    [[7, 7, 8], 3, 1, 'same'],
    [[6, 7, 3], [2, 3], [1, 2], 'valid'],
    [[5, 5, 1], 2, 2, 'same'],
  ] as const)('max pooling of %j, window %j, stride %j, %s, and its gradient', async (hwc, size, stride, pad) => {
    const x = [n, ...hwc];
    const attrs = { filterSize: size, strides: stride, pad };
    const y = tf.backend_util.computePool2DInfo(x as [number, number, number, number], size as number, stride as number, 1, pad).outShape;
    await compare(([a]) => tf.maxPool(a as tf.Tensor4D, size as number, stride as number, pad), [x], true);
    // The gradient kernel reads the input and the forward output (as tf.grad of tf.maxPool passes them).
    await compare(([g, a]) => run('MaxPoolGrad', { dy: g, input: a, output: tf.maxPool(a as tf.Tensor4D, size as number, stride as number, pad) }, attrs), [y, x]);
  });

  test.each([
    // [input HWC, window, stride]: global average pooling, overlapping windows, a window wider
    // than tall, strides wider than the window (inputs no window reads)
    [[7, 7, 16], 7, 1],
    [[9, 9, 3], 3, 1],
    [[8, 9, 5], [2, 3], [2, 1]],
    [[10, 10, 2], 2, 3],
  ] as const)('average pooling of %j, window %j, stride %j, no padding, and its gradient', async (hwc, size, stride) => {
    const x = [n, ...hwc];
    const attrs = { filterSize: size, strides: stride, pad: 'valid' };
    const y = tf.backend_util.computePool2DInfo(x as [number, number, number, number], size as number, stride as number, 1, 'valid').outShape;
    await compare(([a]) => tf.avgPool(a as tf.Tensor4D, size as number, stride as number, 'valid'), [x], true);
    await compare(([g, a]) => run('AvgPoolGrad', { dy: g, input: a }, attrs), [y, x]);
  });

  test('2x2 average pooling with ceil rounding of an odd size (one more output row and column) falls back', async () => {
    const x = [n, 5, 5, 4];
    const y = [n, 3, 3, 4];
    await compare(([a]) => tf.avgPool(a as tf.Tensor4D, 2, 2, 0, 'ceil'), [x], true);
    await compare(([g, a]) => run('AvgPoolGrad', { dy: g, input: a }, { filterSize: 2, strides: 2, pad: 0, dimRoundingMode: 'ceil' }), [y, x], true);
  });

  test.each([
    // [a, b, transposeA, transposeB]: C5 (S4 flattened), F6 and the output layer, forward and
    // both gradients
    [[n, 400], [120, 400], false, true],
    [[n, 120], [120, 400], false, false],
    [[n, 120], [n, 400], true, false],
    [[n, 120], [84, 120], false, true],
    [[n, 84], [10, 84], false, true],
    [[n, 84], [84, 120], false, false],
    [[n, 84], [n, 120], true, false],
    [[n, 10], [n, 84], true, false],
    [[n, 84], [10, 84], false, true],
    [[n, 10], [10, 84], false, false],
  ] as const)('matMul %j x %j (transpose %s, %s)', (a, b, ta, tb) =>
    compare(([p, q]) => tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, ta, tb), [[...a], [...b]]));

  test.each([
    ['same shape', [n, 28, 28, 6], [n, 28, 28, 6]],
    ['a scalar', [n, 28, 28, 6], []],
    ['scalar first', [], [n, 10, 10, 16]],
    ['a bias vector', [n, 28, 28, 6], [6]],
    ['a bias vector first', [84], [n, 84]],
    ['a leading mask', [16, 6, 5, 5], [16, 6, 1, 1]],
    ['[n, 1] and [1, 10] (falls back)', [n, 1], [1, 10]],
    ['a middle axis (falls back)', [n, 4, 3], [1, 4, 1]],
  ])('elementwise add, sub and mul with %s', async (_, a, b) => {
    for (const op of [tf.add, tf.sub, tf.mul]) await compare(([p, q]) => op(p, q), [a, b], true);
  });

  test('tanh (own SIMD approximation: within 1e-5 of stock Math.tanh) and square', async () => {
    await compare(([a]) => tf.tanh(tf.mul(a, 6)), [[n, 28, 28, 6]]);
    await compare(([a]) => tf.tanh(tf.mul(a, 1e-3)), [[n, 10, 10, 16]]); // small arguments stay accurate
    await compare(([a]) => tf.square(a), [[n, 84]], true);
  });

  test('relu, sigmoid (via tanh: within 1e-5 of stock) and step, and the gradients of relu and sigmoid', async () => {
    await compare(([a]) => tf.relu(a), [[n, 9, 9, 5]], true);
    await compare(([a]) => tf.step(a), [[n, 7, 3]], true);
    await compare(([a]) => tf.step(a, 0.25), [[n, 13]], true);
    await compare(([a]) => tf.sigmoid(tf.mul(a, 8)), [[n, 10, 10, 3]]);
    await compare(([a]) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), v)))(a), [[n, 6, 6, 4]], true);
    await compare(([a]) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(v), v)))(a), [[n, 6, 6, 4]]);
  });

  test('tanh gradient: one fused kernel on the fast backend, the same bits as tfjs\'s square, sub and mul', async () => {
    // Given y and dy (the forward tanh differs in the last bits between the kernel sets).
    const fromY = ([y, dy]: tf.Tensor[]) =>
      tf.getBackend() === FAST_BACKEND ? run(TANH_GRAD, { dy, y }, {}) : tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy);
    await compare(fromY, [[n, 28, 28, 6], [n, 28, 28, 6]], true);
    const grad = ([a, dy]: tf.Tensor[]) => tf.grad((t: tf.Tensor) => tf.tanh(t))(a, dy);
    const inputs = [random([n, 10, 10, 16]), random([n, 10, 10, 16])];
    const kernelsRun = async () => (await tf.profile(() => grad(inputs))).kernels.map((k) => k.name);
    expect(await kernelsRun()).toContain(TANH_GRAD);
    await useKernels('stock');
    expect(await kernelsRun()).toEqual(expect.arrayContaining(['Square', 'Sub', 'Multiply']));
    expect(await kernelsRun()).not.toContain(TANH_GRAD);
    await useKernels('fast');
    tf.dispose(inputs);
  });

  test.each([
    [[n, 28, 28, 6], [0, 1, 2], false],
    [[n, 10, 10, 16], [0, 1, 2], false],
    [[n, 84], 1, true],
    [[n, 10], -1, false],
    [[n, 120], 0, false],
    [[n, 5, 3], 1, false], // a middle axis: falls back
    [[n, 5, 3, 2], null, false], // every axis (tf.sum(x))
    [[n, 4], null, true],
  ] as const)('sum of %j over %j (keepDims %s)', (shape, axis, keep) =>
    compare(([a]) => tf.sum(a, (axis ?? undefined) as number | number[] | undefined, keep), [[...shape]]));

  test.each([
    [[6, 1, 5, 5], [2, 3, 1, 0]],
    [[16, 6, 5, 5], [2, 3, 1, 0]],
    [[n, 5, 5, 16], [0, 3, 1, 2]],
    [[n, 16, 5, 5], [0, 2, 3, 1]],
    [[n, 10], [1, 0]],
  ])('transpose of %j by %j', (shape, perm) => compare(([a]) => tf.transpose(a, perm), [shape], true));
});

test('tanh: within 6 ulp of the correctly rounded tanh on every 61st float32 up to 9, odd, |y| <= 1, 1 from 9 on, -0 and NaN kept', async () => {
  await useKernels('fast');
  const bits = new Int32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  asFloat[0] = 9;
  const end = bits[0];
  const N = 1 << 18;
  // The ulp of a correctly rounded value r: the float spacing below |r| (at a power of two, the
  // finer one), so that an error of one step in the worse direction counts as 1.
  const ulp = (r: number) => {
    const e = Math.floor(Math.log2(Math.abs(r)));
    return 2 ** (Math.abs(r) === 2 ** e ? e - 24 : e - 23);
  };
  let worst = 0;
  let checked = 0;
  scoped(() => {
    const arena = new Arena();
    const xp = arena.alloc(2 * N);
    const yp = arena.alloc(2 * N);
    const x = arena.f32(xp, 2 * N);
    const xi = new Int32Array(x.buffer, x.byteOffset, 2 * N);
    const y = arena.f32(yp, 2 * N);
    for (let from = 1; from < end; from += 61 * N) {
      let n = 0;
      for (let b = from; b < end && n < N; b += 61) xi[n++] = b;
      for (let i = 0; i < n; i++) x[n + i] = -x[i];
      kernels().tanh(xp, yp, 2 * n);
      for (let i = 0; i < n; i++) {
        const r = Math.fround(Math.tanh(x[i]));
        const d = Math.abs(y[i] - r) / ulp(r);
        if (!(d <= worst)) worst = d; // NaN would stick
        if (y[n + i] !== -y[i] || !(y[i] <= 1)) throw new Error(`tanh(${x[i]}) = ${y[i]}, tanh(-x) = ${y[n + i]}`);
      }
      checked += n;
    }
    const special = [0, -0, NaN, Infinity, -Infinity, 9, 9.5, 1e30, -1e-30, 1e-40];
    x.set(special);
    kernels().tanh(xp, yp, special.length);
    expect(Array.from(y.subarray(0, special.length))).toEqual([0, -0, NaN, 1, -1, 1, 1, 1, Math.fround(-1e-30), Math.fround(1e-40)]);
  });
  expect(checked).toBeGreaterThan(17_000_000);
  expect(worst).toBeGreaterThan(0);
  expect(worst).toBeLessThanOrEqual(6);
});

test('other convolution settings fall back to the stock kernels and still agree', async () => {
  await compare(([a, w]) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2), [[3, 9, 9, 2], [3, 3, 2, 5]]); // dilated
  await compare(([a]) => tf.avgPool(a as tf.Tensor4D, 3, 1, 'same'), [[2, 6, 6, 3]]);
});

test('a slice of a fast kernel output keeps its values after the output is disposed and its array is recycled', async () => {
  await useKernels('fast');
  const x = random([4, 6, 6, 2]);
  const expected = tf.tidy(() => tf.tanh(x).dataSync().slice()); // read out: that array is never recycled
  const kept = tf.tidy(() => {
    const y = tf.tanh(x); // a recycled output array
    return [tf.slice(y, [1], [2]), ...tf.split(y, 4)]; // tfjs's Slice and Split return views of y's array
  });
  // y is gone: the next same-sized outputs are taken from the free list, and overwrite whatever they get.
  const others = Array.from({ length: 4 }, (_, k) => tf.tanh(tf.mul(x, k + 2)));
  const size = 6 * 6 * 2;
  expect(Array.from(kept[0].dataSync())).toEqual(Array.from(expected.subarray(size, 3 * size)));
  kept.slice(1).forEach((part, k) => expect(Array.from(part.dataSync())).toEqual(Array.from(expected.subarray(k * size, (k + 1) * size))));
  tf.dispose([x, ...kept, ...others]);
});

test('outputs live in the wasm memory: a repeated step reuses its blocks, and values leave only as copies', async () => {
  await useKernels('fast');
  const x = random([8, 14, 14, 6]);
  const w = random([5, 5, 6, 16]);
  const step = () =>
    tf.tidy(() => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.tanh(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid')));
      return tf.grads(f)([x, w]).map((g) => g.dataSync());
    });
  const first = step();
  const after = heapStats();
  for (let k = 0; k < 20; k++) {
    const again = step();
    again.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(first[i]))); // reused blocks, same results
  }
  expect(heapStats()).toEqual(after); // nothing grew, nothing is left held
  // dataSync hands out a copy: changing it changes nothing, and it is not a view of the wasm memory.
  const y = tf.tanh(x);
  const out = y.dataSync() as Float32Array;
  expect(out.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  const was = out[0];
  out[0] = 42;
  expect(y.dataSync()[0]).toBe(was);
  const live = heapStats().used;
  y.dispose();
  expect(heapStats().used).toBeLessThan(live); // its block went back to the free list
  tf.dispose([x, w]);
});

test('resampleRows reads outside any image size as 0, after a larger image too', async () => {
  await useKernels('fast'); // loads the wasm kernels
  const identity = { a: 1, b: 0, d: 1, tx: 0, ty: 0 };
  const plain = { offset: 0, scale: 1, divisor: 1 };
  const big = new Float32Array(28 * 28).fill(255);
  expect(resampleRows(big, 28, 28, new Float32Array(32 * 32), 32, 32, 2, 0, 0, identity, plain)).toBe(true);
  // Then a 10x10 image of 255 on a 12x12 grid shifted by one: a one-pixel frame of 0 around it.
  const out = new Float32Array(12 * 12);
  expect(resampleRows(new Float32Array(100).fill(255), 10, 10, out, 12, 12, 1, 0, 0, identity, plain)).toBe(true);
  for (let y = 0; y < 12; y++)
    for (let x = 0; x < 12; x++) expect(out[y * 12 + x]).toBe(x >= 1 && x <= 10 && y >= 1 && y <= 10 ? 255 : 0);
});

test('the weight relayouts (transpose, filterToMatrix both ways, filterFromKO) are the scalar definition, bit for bit', async () => {
  await useKernels('fast'); // loads the wasm kernels
  const rng = stream(7, 1);
  // A dense layer's [out, in] weights into a wider [in, ld] and back, times a scale: f32(scale v).
  for (const [R, C, scale] of [[84, 120, 1], [10, 84, 0.3716], [7, 5, 1.5]]) {
    const src = Float32Array.from({ length: R * C }, () => 2 * uniform01(rng) - 1);
    const ld = roundUp4(R) + 4;
    const want = new Float32Array(C * ld);
    for (let r = 0; r < R; r++) for (let j = 0; j < C; j++) want[j * ld + r] = scale * src[r * C + j];
    scoped(() => {
      const arena = new Arena();
      const dp = arena.alloc(C * ld);
      arena.f32(dp, C * ld).fill(0);
      kernels().transpose(arena.put(src), R, C, C, dp, ld, scale);
      expect(Array.from(arena.f32(dp, C * ld)), `transpose ${R}x${C}, scale ${scale}`).toEqual(Array.from(want));
    });
  }
  // Four-by-four blocks and every edge: o and c multiples of 4 or not, kh kw of 25, 6 and 1.
  for (const [o, c, kh, kw] of [[120, 16, 5, 5], [16, 6, 5, 5], [6, 1, 5, 5], [7, 3, 3, 2], [5, 5, 1, 1]]) {
    for (const masked of [false, true]) {
      for (const scale of [1, 0.3716]) {
        const K = kh * kw * c;
        const ld = roundUp4(o) + 4; // a row stride past o: its padding must come out zero
        const kPad = roundUp4(K) + 4;
        const w = Float32Array.from({ length: o * K }, () => 2 * uniform01(rng) - 1);
        const mask = masked ? Float32Array.from({ length: o * c }, () => (uniform01(rng) < 0.6 ? 1 : 0)) : null;
        const f = (k: number, ci: number) => (mask ? mask[k * c + ci] : 1) * scale;
        const W = new Float32Array(K * ld); // W[r, k], r = (ky kw + kx) c + ci
        const Wt = new Float32Array(o * kPad);
        const back = new Float32Array(o * K); // filterFromKO of W read as a gradient: OIHW again
        for (let k = 0; k < o; k++)
          for (let ci = 0; ci < c; ci++)
            for (let i = 0; i < kh * kw; i++) {
              const v = w[(k * c + ci) * kh * kw + i];
              W[(i * c + ci) * ld + k] = f(k, ci) * v;
              Wt[k * kPad + i * c + ci] = f(k, ci) * v;
            }
        for (let k = 0; k < o; k++)
          for (let ci = 0; ci < c; ci++) for (let i = 0; i < kh * kw; i++) back[(k * c + ci) * kh * kw + i] = f(k, ci) * W[(i * c + ci) * ld + k];
        scoped(() => {
          const arena = new Arena();
          const wp = arena.put(w);
          const mp = mask ? arena.put(mask) : 0;
          const Wp = arena.alloc(K * ld);
          const Wtp = arena.alloc(o * kPad);
          const backp = arena.alloc(o * K);
          arena.f32(Wp, K * ld).fill(NaN); // what it held before: must all be overwritten
          kernels().filterToMatrix(wp, o, c, kh, kw, mp, scale, Wp, ld, 1, K * ld);
          kernels().filterToMatrix(wp, o, c, kh, kw, mp, scale, Wtp, 1, kPad, o * kPad);
          kernels().filterFromKO(arena.put(W), ld, o, c, kh, kw, mp, scale, backp);
          const at = `o ${o}, c ${c}, ${kh}x${kw}, mask ${masked}, scale ${scale}`;
          expect(Array.from(arena.f32(Wp, K * ld)), `W, ${at}`).toEqual(Array.from(W));
          expect(Array.from(arena.f32(Wtp, o * kPad)), `Wt, ${at}`).toEqual(Array.from(Wt));
          expect(Array.from(arena.f32(backp, o * K)), `back, ${at}`).toEqual(Array.from(back));
        });
      }
    }
  }
});

test('the direct convolution kernels (conv1Forward, conv1Filter) are their scalar definitions, bit for bit, and write nothing else', async () => {
  await useKernels('fast'); // loads the wasm kernels
  const rng = stream(11, 2);
  const f32 = Math.fround;
  const SENTINEL = 12345;
  // [n, h, w, kh, kw, o]: an odd number of output rows, a last channel block of one, taps cut 3 + 2
  // and 3 + 1 by conv1Filter's passes, one tap row.
  for (const [n, h, w, kh, kw, o] of [[2, 13, 12, 5, 5, 6], [3, 10, 10, 3, 3, 7], [1, 8, 9, 4, 2, 5], [2, 5, 11, 1, 4, 4]]) {
    const oh = h - kh + 1, ow = w - kw + 1, P = n * oh * ow, taps = kh * kw;
    const ld = o + 2; // columns past o must stay as they were
    const x = Float32Array.from({ length: n * h * w }, () => 2 * uniform01(rng) - 1);
    const f = Float32Array.from({ length: taps * o }, () => 2 * uniform01(rng) - 1); // [ky, kx, o]
    const g = Float32Array.from({ length: o * P }, () => 2 * uniform01(rng) - 1); // planes [o][P]
    // Forward: each output's sum over (ky, kx) in order, from 0.
    const y = new Float32Array(P * ld + 8).fill(SENTINEL);
    for (let s = 0; s < n; s++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let c = 0; c < o; c++) {
            let acc = 0;
            for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) acc = f32(acc + f32(x[(s * h + oy + ky) * w + ox + kx] * f[(ky * kw + kx) * o + c]));
            y[((s * oh + oy) * ow + ox) * ld + c] = acc;
          }
    // Filter gradient: lane l of a tap's sum takes the pixels ox = 4 q + l, each sample's part
    // summed over (oy, q) then added to the total in sample order, the lanes added (0 + 1) + (2 + 3).
    const dw = new Float32Array(taps * ld).fill(SENTINEL);
    for (let c = 0; c < o; c++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const total = [0, 0, 0, 0];
          for (let s = 0; s < n; s++) {
            const part = [0, 0, 0, 0];
            for (let oy = 0; oy < oh; oy++)
              for (let ox = 0; ox < ow; ox++) part[ox % 4] = f32(part[ox % 4] + f32(x[(s * h + oy + ky) * w + ox + kx] * g[c * P + (s * oh + oy) * ow + ox]));
            for (let l = 0; l < 4; l++) total[l] = f32(total[l] + part[l]);
          }
          dw[(ky * kw + kx) * ld + c] = f32(f32(total[0] + total[1]) + f32(total[2] + total[3]));
        }
    scoped(() => {
      const arena = new Arena();
      const xp = arena.alloc(x.length + 4);
      arena.f32(xp, x.length + 4).fill(0).set(x);
      const yp = arena.alloc(y.length);
      arena.f32(yp, y.length).fill(SENTINEL);
      const dwp = arena.alloc(dw.length);
      arena.f32(dwp, dw.length).fill(SENTINEL);
      kernels().conv1Forward(xp, n, h, w, arena.put(f), o, kh, kw, o, yp, ld, arena.alloc(kernels().conv1PanelFloats() * taps));
      kernels().conv1Filter(xp, n, h, w, arena.put(g), kh, kw, o, dwp, ld);
      const at = `n ${n}, ${h}x${w}, ${kh}x${kw}, o ${o}`;
      expect(Array.from(arena.f32(yp, y.length)), `conv1Forward, ${at}`).toEqual(Array.from(y));
      expect(Array.from(arena.f32(dwp, dw.length)), `conv1Filter, ${at}`).toEqual(Array.from(dw));
    });
  }
});

test('actGradPlanar is actGrad, sumRows and toPlanar in one pass, bit for bit', async () => {
  await useKernels('fast'); // loads the wasm kernels
  const rng = stream(13, 3);
  // Rows in fours and a remainder, channels alone, in pairs with a lone last one, past a group of eight.
  for (const [P, o] of [[26, 6], [13, 3], [8, 1], [7, 9], [4, 10]]) {
    for (const act of [0, 1, 2, 3]) {
      const dy = Float32Array.from({ length: P * o }, () => 2 * uniform01(rng) - 1);
      const y = Float32Array.from({ length: P * o }, () => (act === 2 ? 2 * uniform01(rng) - 1 : uniform01(rng)));
      if (act === 2) y[0] = 0; // relu's slope at 0
      scoped(() => {
        const arena = new Arena();
        const [dyp, yp] = [arena.put(dy), arena.put(y)];
        const g = arena.alloc(P * o);
        kernels().actGrad(dyp, yp, g, roundUp4(P * o), act);
        const wantPlanes = arena.alloc(P * o);
        const wantSums = arena.alloc(o);
        kernels().toPlanar(g, P, o, o, wantPlanes);
        kernels().sumRows(g, P, o, wantSums);
        const planes = arena.alloc(P * o);
        const sums = arena.alloc(o);
        kernels().actGradPlanar(dyp, yp, P, o, act, planes, sums);
        const at = `P ${P}, o ${o}, activation ${act}`;
        expect(Array.from(arena.f32(planes, P * o)), `planes, ${at}`).toEqual(Array.from(arena.f32(wantPlanes, P * o)));
        expect(Array.from(arena.f32(sums, o)), `sums, ${at}`).toEqual(Array.from(arena.f32(wantSums, o)));
      });
    }
  }
});
