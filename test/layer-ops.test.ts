// The layer ops (src/ops/): each against the same function composed of stock tfjs ops on the
// stock cpu backend, forward and gradients (through tfjs's autodiff), on random inputs over a
// spread of shapes, for both the portable kernels (`stock`) and the WebAssembly ones (`fast`).
import { describe, expect, test } from 'vitest';
import { tf, useKernels, type KernelSet } from '../src/tf.js';
import { avgPool2d, conv2d, dense, maxPool2d, rbf, softmaxCrossEntropy, type Activation } from '../src/ops/index.js';
import { stream, uniform01 } from '../src/rng.js';
import { profileStep } from '../src/profile.js';
import { geometry } from '../src/kernels/conv-geometry.js';
import { convAttrs, type Conv2dAttrs } from '../src/ops/conv2d.js';
import { loadMnist } from '../src/mnist-files.js';

const rng = stream(42, 7);
const rand = (shape: number[], scale = 1) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (2 * uniform01(rng) - 1) * scale), shape);

const act = (a: Activation, z: tf.Tensor) => (a === 'tanh' ? tf.tanh(z) : a === 'relu' ? tf.relu(z) : a === 'sigmoid' ? tf.sigmoid(z) : z);

/** Largest |a - b| relative to b's largest entry (or 1). */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const [av, bv] = [a.dataSync(), b.dataSync()];
  expect(a.shape).toEqual(b.shape);
  let worst = 0;
  let scale = 1e-30;
  for (let i = 0; i < bv.length; i++) {
    worst = Math.max(worst, Math.abs(av[i] - bv[i]));
    scale = Math.max(scale, Math.abs(bv[i]));
  }
  return worst / scale;
}

/** f's value and its gradients for the loss sum(f(...) dy), on a kernel set (null: the composition on stock cpu). */
async function valueAndGrads(kernels: KernelSet, f: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], dy: tf.Tensor) {
  await useKernels(kernels);
  const y = f(...inputs);
  const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), dy)))(inputs);
  return { y, grads };
}

async function compare(op: (...t: tf.Tensor[]) => tf.Tensor, reference: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], tol = 2e-5) {
  const probe = (await valueAndGrads('stock', reference, inputs, tf.tensor(0))).y;
  const dy = rand(probe.shape);
  const ref = await valueAndGrads('stock', reference, inputs, dy);
  for (const kernels of ['stock', 'fast'] as const) {
    const got = await valueAndGrads(kernels, op, inputs, dy);
    expect(relErr(got.y, ref.y), `${kernels} forward`).toBeLessThan(tol);
    got.grads.forEach((g, i) => expect(relErr(g, ref.grads[i]), `${kernels} gradient ${i}`).toBeLessThan(tol));
  }
}

describe('conv2d', () => {
  // [n, h, w, c, o, k, stride, padding]: one input channel with and without the direct kernels'
  // row width, odd sizes, 1 and many channels, a 1x1 output; stride 2 and 'same' padding.
  const shapes = [
    [2, 32, 32, 1, 6, 5, 1, 'valid'], [3, 9, 11, 1, 5, 3, 1, 'valid'], [2, 14, 14, 6, 16, 5, 1, 'valid'], [1, 7, 5, 3, 1, 3, 1, 'valid'],
    [4, 5, 5, 16, 7, 5, 1, 'valid'], [2, 6, 6, 2, 3, 1, 1, 'valid'],
    [2, 10, 10, 1, 8, 3, 1, 'same'], [2, 9, 7, 3, 4, 3, 2, 'same'], [3, 11, 11, 2, 5, 5, 2, 'valid'], [1, 8, 8, 12, 10, 5, 1, 'same'],
  ] as const;
  test.each(shapes.flatMap((s) => (['linear', 'tanh', 'relu', 'sigmoid'] as const).map((a) => [s, a] as const)))('%j %s, against tf.conv2d + bias + activation', async ([n, h, w, c, o, k, stride, padding], activation) => {
    const [alpha, beta] = [0.7, 1.3];
    const inputs = [rand([n, h, w, c]), rand([o, c, k, k], 0.5), rand([o], 0.5)];
    const mask = Array.from({ length: o * c }, (_, i) => (i % 3 === 1 ? 0 : 1));
    const reference = (x: tf.Tensor, wt: tf.Tensor, b: tf.Tensor) => {
      const masked = tf.mul(wt, tf.reshape(tf.tensor(mask), [o, c, 1, 1]));
      const z = tf.conv2d(x as tf.Tensor4D, tf.transpose(masked, [2, 3, 1, 0]) as tf.Tensor4D, stride, padding);
      return act(activation, tf.add(tf.mul(z, alpha), tf.mul(b, beta)));
    };
    const op = (x: tf.Tensor, wt: tf.Tensor, b: tf.Tensor) => conv2d(x as tf.Tensor4D, wt as tf.Tensor4D, b as tf.Tensor1D, { alpha, beta, activation, mask, stride, padding });
    await compare(op, reference, inputs);
  });

  // One input channel, stride 1, 'valid', output rows a multiple of 4 wide: the direct kernels.
  // Without the input gradient their backward makes the slope as planes in one pass
  // (actGradPlanar), channels in groups of eight taken as pairs: 1, 3, 5, 7 outputs end on a lone
  // channel (at each place in a group), 6 on a pair, 9 and 10 start a second group.
  const direct = [[1, 8, 8, 1, 1, 5], [3, 10, 10, 1, 3, 3], [2, 12, 12, 1, 5, 5], [2, 32, 32, 1, 6, 5], [2, 8, 8, 1, 7, 5], [1, 12, 12, 1, 9, 5], [2, 12, 12, 1, 10, 5]] as const;
  test.each(direct.flatMap((s) => (['linear', 'tanh', 'relu', 'sigmoid'] as const).map((a) => [s, a] as const)))('%j %s with inputGrad: false, against tf.conv2d + bias + activation', async ([n, h, w, c, o, k], activation) => {
    const [alpha, beta] = [0.9, 1.2];
    const x = rand([n, h, w, c]);
    expect(geometry(x.shape, [k, k, c, o], convAttrs({ strides: [1, 1], pad: 'valid' } as Conv2dAttrs))?.direct).toBe(true);
    // The mask spares the last channel: a masked channel's dW is zero on every path.
    const mask = Array.from({ length: o * c }, (_, i) => (i % 4 === 2 && i < o - 1 ? 0 : 1));
    await compare(
      (wt, b) => conv2d(x as tf.Tensor4D, wt as tf.Tensor4D, b as tf.Tensor1D, { alpha, beta, activation, mask, inputGrad: false }),
      (wt, b) => {
        const masked = tf.mul(wt, tf.reshape(tf.tensor(mask), [o, c, 1, 1]));
        return act(activation, tf.add(tf.mul(tf.conv2d(x as tf.Tensor4D, tf.transpose(masked, [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid'), alpha), tf.mul(b, beta)));
      },
      [rand([o, c, k, k], 0.5), rand([o], 0.5)],
    );
    // The same bits as the rows path (actGrad, sumRows, toPlanar), which runs when x's gradient is
    // wanted; unmasked, so that every channel's dW counts.
    const [wt, b] = [rand([o, c, k, k], 0.5), rand([o], 0.5)];
    const dy = rand([n, h - k + 1, w - k + 1, o]);
    const loss = (inputGrad: boolean) => (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
      tf.sum(tf.mul(conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, bv as tf.Tensor1D, { alpha, beta, activation, inputGrad }), dy));
    await useKernels('fast');
    const planes = tf.grads((wv: tf.Tensor, bv: tf.Tensor) => loss(false)(x, wv, bv))([wt, b]);
    const rows = tf.grads(loss(true))([x, wt, b]).slice(1);
    planes.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(rows[i].dataSync())));
  });

  test('without a bias, and with inputGrad: false (the input gradient is then refused)', async () => {
    const inputs = [rand([2, 8, 8, 1]), rand([4, 1, 5, 5])];
    await compare(
      (x, wt) => conv2d(x as tf.Tensor4D, wt as tf.Tensor4D, null, { activation: 'tanh' }),
      (x, wt) => tf.tanh(tf.conv2d(x as tf.Tensor4D, tf.transpose(wt, [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid')),
      inputs,
    );
    const [x, wt] = inputs;
    const onlyW = tf.grad((v: tf.Tensor) => tf.sum(conv2d(x as tf.Tensor4D, v as tf.Tensor4D, null, { inputGrad: false })))(wt);
    expect(onlyW.shape).toEqual(wt.shape);
    expect(() => tf.grad((v: tf.Tensor) => tf.sum(conv2d(v as tf.Tensor4D, wt as tf.Tensor4D, null, { inputGrad: false })))(x)).toThrow(/inputGrad: false/);
  });

  test('bad shapes and options are refused with what to change', () => {
    const x = rand([1, 6, 6, 2]);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 4, 3, 3]) as tf.Tensor4D, null)).toThrow(/conv2d: x has 2 channels, w expects 4/);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 7, 7]) as tf.Tensor4D, null)).toThrow(/a 7x7 filter does not fit in a 6x6 input/);
    expect(conv2d(x as tf.Tensor4D, rand([3, 2, 7, 7]) as tf.Tensor4D, null, { padding: 'same', stride: 2 }).shape).toEqual([x.shape[0], 3, 3, 3]);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 3, 3]) as tf.Tensor4D, null, { stride: 0 })).toThrow(/stride must be a positive integer/);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 3, 3]) as tf.Tensor4D, null, { padding: 'full' as 'same' })).toThrow(/padding must be 'valid' or 'same'/);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 3, 3]) as tf.Tensor4D, rand([2]) as tf.Tensor1D)).toThrow(/b must be \[3\]/);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 3, 3]) as tf.Tensor4D, null, { activation: 'gelu' as Activation })).toThrow(/activation must be one of linear, tanh, relu, sigmoid/);
    expect(() => conv2d(x as tf.Tensor4D, rand([3, 2, 3, 3]) as tf.Tensor4D, null, { mask: [1, 0] })).toThrow(/mask must have o x c = 6 entries/);
  });
});

describe('dense', () => {
  const shapes = [[32, 120, 84], [5, 84, 10], [3, 7, 1], [1, 1, 5], [6, 400, 120]];
  test.each(shapes.flatMap((s) => (['linear', 'tanh', 'relu', 'sigmoid'] as const).map((a) => [s, a] as const)))('%j %s, against tf.matMul + bias + activation', async ([n, inn, out], activation) => {
    const [alpha, beta] = [1.1, 0.6];
    const inputs = [rand([n, inn]), rand([out, inn], 0.3), rand([out])];
    await compare(
      (x, wt, b) => dense(x, wt as tf.Tensor2D, b as tf.Tensor1D, { alpha, beta, activation }),
      (x, wt, b) => act(activation, tf.add(tf.mul(tf.matMul(x as tf.Tensor2D, wt as tf.Tensor2D, false, true), alpha), tf.mul(b, beta))),
      inputs,
    );
  });

  test('takes [n, 1, 1, k] (a convolution output) as [n, k]', async () => {
    const inputs = [rand([3, 1, 1, 12]), rand([5, 12])];
    await compare((x, wt) => dense(x, wt as tf.Tensor2D, null), (x, wt) => tf.matMul(tf.reshape(x, [3, 12]) as tf.Tensor2D, wt as tf.Tensor2D, false, true), inputs);
    expect(() => dense(rand([3, 11]), rand([5, 12]) as tf.Tensor2D, null)).toThrow(/dense: x must be \[n, \.\.\.\] with 12 values a sample/);
  });
});

describe('avgPool2d and maxPool2d', () => {
  // [n, h, w, c, size, stride, padding]: LeNet-5's 2x2 (its own kernel) on even and odd sizes,
  // other windows and strides, overlapping windows, a window of the whole image, 'same' (max only).
  const shapes = [
    [2, 28, 28, 6, 2, undefined, 'valid'], [3, 10, 10, 16, 2, undefined, 'valid'], [2, 7, 9, 3, 2, undefined, 'valid'],
    [2, 9, 9, 4, 3, 2, 'valid'], [1, 8, 6, 2, [2, 3], [1, 2], 'valid'], [2, 5, 5, 7, 5, undefined, 'valid'],
  ] as const;
  test.each(shapes)('avgPool2d [%i, %i, %i, %i] size %j stride %j %s, against tf.avgPool', async (n, h, w, c, size, stride, padding) => {
    const s = stride ?? size;
    await compare((x) => avgPool2d(x as tf.Tensor4D, size as number, { stride: s as number, padding }), (x) => tf.avgPool(x as tf.Tensor4D, size as number, s as number, padding), [rand([n, h, w, c])]);
  });
  test.each([...shapes, [2, 9, 7, 3, 3, 2, 'same'], [1, 6, 6, 5, 2, 1, 'same']] as const)('maxPool2d [%i, %i, %i, %i] size %j stride %j %s, against tf.maxPool', async (n, h, w, c, size, stride, padding) => {
    const s = stride ?? size;
    await compare((x) => maxPool2d(x as tf.Tensor4D, size as number, { stride: s as number, padding }), (x) => tf.maxPool(x as tf.Tensor4D, size as number, s as number, padding), [rand([n, h, w, c])]);
  });

  test('one kernel each way, the average saving nothing for its gradient; bad shapes and options are refused with what to change', async () => {
    await useKernels('fast');
    const x = rand([2, 6, 6, 3]);
    const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(avgPool2d(v as tf.Tensor4D, 2)))(x));
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((k) => k.includes('Pool'))).toEqual(['LayerAvgPool2D', 'LayerAvgPool2DGrad']);
    expect(names).not.toContain('Cast'); // tf.avgPool casts its output
    // and clones its input to save it: only tf.sum's clone of the pooled [2, 3, 3, 3] is left
    expect(info.kernels.filter((k) => k.name === 'Identity').map((k) => k.inputShapes)).toEqual([[[2, 3, 3, 3]]]);
    expect(() => avgPool2d(rand([6, 6]) as tf.Tensor4D, 2)).toThrow(/avgPool2d: x must be \[n, h, w, c\]/);
    expect(() => avgPool2d(x as tf.Tensor4D, 7)).toThrow(/avgPool2d: a 7x7 window does not fit in a 6x6 input/);
    expect(() => avgPool2d(x as tf.Tensor4D, 2, { padding: 'same' })).toThrow(/avgPool2d: padding must be 'valid', got "same"/);
    expect(() => maxPool2d(x as tf.Tensor4D, 0)).toThrow(/maxPool2d: size must be a positive integer or two of them, got 0/);
    expect(() => maxPool2d(x as tf.Tensor4D, 2, { stride: [1, 1.5] })).toThrow(/maxPool2d: stride must be a positive integer or two of them/);
  });
});

describe('rbf and softmaxCrossEntropy', () => {
  test('rbf: sum_j (alpha x - c)^2, against the composition', async () => {
    const inputs = [rand([6, 84]), rand([10, 84])];
    await compare(
      (x, c) => rbf(x as tf.Tensor2D, c as tf.Tensor2D, { alpha: 1.7 }),
      (x, c) => tf.sum(tf.square(tf.sub(tf.expandDims(tf.mul(x, 1.7), 1), tf.expandDims(c, 0))), 2),
      inputs,
    );
  });

  test.each([
    ['logits, mean', 1, null, 'mean'],
    ['penalties with a reject class, per sample', -1, -0.1, 'none'],
    ['penalties with a reject class, mean', -1, -0.1, 'mean'],
  ] as const)('softmaxCrossEntropy: %s', async (_, scale, reject, reduction) => {
    const n = 7;
    const labels = Array.from({ length: n }, (_, i) => (3 * i) % 10);
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32');
    const reference = (s: tf.Tensor) => {
      const z = tf.mul(s, scale);
      const all = reject === null ? z : tf.concat([z, tf.fill([n, 1], reject)], 1);
      const per = tf.sub(tf.logSumExp(all, 1), tf.sum(tf.mul(z, oneHot), 1));
      return reduction === 'mean' ? tf.mean(per) : per;
    };
    await compare((s) => softmaxCrossEntropy(s as tf.Tensor2D, oneHot as tf.Tensor2D, { scale, reject, reduction }), reference, [rand([n, 10], 3)]);
  });
});

test.each(['lenet5', 'lenet5-softmax'] as const)('a %s training step (forward and backward) is at most 32 tfjs kernel calls, each layer one kernel a way', async (model) => {
  const p = await profileStep(model, 'fast', loadMnist(), 16, 1);
  expect(p.kernelCalls).toBeLessThanOrEqual(32);
  const calls = Object.fromEntries(p.byKernel.map((k) => [k.kernel, k.calls]));
  expect(calls).toMatchObject({ LayerConv2D: 3, LayerConv2DGrad: 3, LayerAvgPool2D: 2, LayerAvgPool2DGrad: 2, LayerSoftmaxCrossEntropy: 1, LayerSoftmaxCrossEntropyGrad: 1 });
  expect(calls.Cast).toBeUndefined();
  expect(calls.LayerDense).toBe(model === 'lenet5' ? 1 : 2);
});
