// 2x2 average pooling with stride 2 and no padding (LeNet-5's S2 and S4), NHWC, in plain JS.
// Other pooling configurations go to the stock kernels.
import * as tf from '@tensorflow/tfjs-core';
import { output, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { take } from './buffers.js';

type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

function pool2x2(xShape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo | null {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad as 'valid', attrs.dimRoundingMode,
  );
  const p = info.padInfo;
  const ok =
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0;
  return ok ? info : null;
}

function avgPool(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const info = x.dtype === 'float32' && pool2x2(x.shape, args.attrs as PoolAttrs);
  if (!info) return stock('AvgPool', args) as tf.TensorInfo;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const v = values(args, x);
  const out = take(n * oh * ow * c);
  let o = 0;
  for (let s = 0; s < n; s++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const i00 = ((s * h + 2 * y) * w + 2 * xx) * c;
        const i10 = i00 + w * c;
        for (let k = 0; k < c; k++) out[o++] = (v[i00 + k] + v[i00 + c + k] + v[i10 + k] + v[i10 + c + k]) * 0.25;
      }
  return output(args, info.outShape, out);
}

function avgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs;
  const info = dy.dtype === 'float32' && pool2x2(input.shape, args.attrs as PoolAttrs);
  if (!info) return stock('AvgPoolGrad', args) as tf.TensorInfo;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const g = values(args, dy);
  const dx = take(n * h * w * c);
  if (h !== 2 * oh || w !== 2 * ow) dx.fill(0); // odd sizes: the last row/column gets no gradient
  let o = 0;
  for (let s = 0; s < n; s++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const i00 = ((s * h + 2 * y) * w + 2 * xx) * c;
        const i10 = i00 + w * c;
        for (let k = 0; k < c; k++) {
          const q = g[o++] * 0.25;
          dx[i00 + k] = q;
          dx[i00 + c + k] = q;
          dx[i10 + k] = q;
          dx[i10 + c + k] = q;
        }
      }
  return output(args, [...input.shape], dx);
}

export const POOL_KERNELS: FastKernel[] = [
  { kernelName: tf.AvgPool, kernelFunc: avgPool },
  { kernelName: tf.AvgPoolGrad, kernelFunc: avgPoolGrad },
];
