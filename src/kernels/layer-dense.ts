// The dense layer op (src/ops/dense.ts) on the WebAssembly GEMM, with the scaling, bias and
// activation in one pass over the product (biasAct) and the slope read from the saved output.
//
// x [n, in], W [out, in], Wt = W^T padded to [in, outPad]:
//   forward   y[n, out] = act(alpha x Wt + beta b)
//   backward  g = dy act'(y) [n, outPad];  db = beta sum_n g;  dW^T = alpha x^T g;  dx = alpha g W
import * as tf from '@tensorflow/tfjs-core';
import { activationCode } from '../ops/activation.js';
import { LAYER_DENSE, LAYER_DENSE_GRAD, type DenseAttrs } from '../ops/dense.js';
import { output, roundUp4, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { Arena, kernels } from './wasm.js';
import { slopeAndBiasSum } from './activation.js';

function forward(args: KernelArgs): tf.TensorInfo {
  const { x, weight, bias } = args.inputs;
  if (x.dtype !== 'float32') return stock(LAYER_DENSE, args) as tf.TensorInfo;
  const a = args.attrs as unknown as DenseAttrs;
  const [out, inn] = weight.shape;
  const n = x.shape[0];
  const ld = roundUp4(out);
  const arena = new Arena();
  const wk = kernels();
  const xp = arena.put(values(args, x));
  const wtp = arena.alloc(inn * ld);
  const yp = arena.alloc(n * ld);
  const bp = arena.alloc(ld);
  arena.f32(wtp, inn * ld).fill(0); // the columns past out stay 0
  wk.transpose(arena.put(values(args, weight)), out, inn, inn, wtp, ld, 1); // Wt [in, ld]
  const row = arena.f32(bp, ld);
  row.fill(0);
  if (bias) values(args, bias).forEach((v, k) => (row[k] = a.beta * v));
  wk.gemm(n, ld, inn, xp, inn, 1, wtp, ld, yp, ld);
  wk.biasAct(yp, n * ld, bp, ld, a.alpha, activationCode(a.activation));
  return output(args, [n, out], arena.take(yp, n, out, ld));
}

/** Inputs dy, x, weight, y; outputs [dx ([0] without inputGrad), dw, db]. */
function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, weight, y } = args.inputs;
  if (x.dtype !== 'float32') return stock(LAYER_DENSE_GRAD, args) as tf.TensorInfo[];
  const a = args.attrs as unknown as DenseAttrs;
  const [out, inn] = weight.shape;
  const n = x.shape[0];
  const oPad = roundUp4(out);
  const iPad = roundUp4(inn);
  const arena = new Arena();
  const wk = kernels();
  const { gp, dbp } = slopeAndBiasSum(arena, values(args, dy), values(args, y), n, out, oPad, a.activation);
  const xp = arena.put(values(args, x));
  const dwtp = arena.alloc(inn * oPad);
  wk.gemm(inn, oPad, n, xp, 1, inn, gp, oPad, dwtp, oPad); // x^T g: [in, oPad]
  let dxp = 0;
  if (a.inputGrad) {
    const wp = arena.putRows(values(args, weight), out, inn, iPad);
    dxp = arena.alloc(n * iPad);
    wk.gemm(n, iPad, out, gp, oPad, 1, wp, iPad, dxp, iPad); // g W: [n, iPad]
  }
  const dwp = arena.alloc(out * inn);
  wk.transpose(dwtp, inn, out, oPad, dwp, inn, a.alpha); // alpha dW [out, in]
  const db = arena.f32(dbp, out);
  let dx: tf.TensorInfo;
  if (a.inputGrad) {
    const d = arena.take(dxp, n, inn, iPad);
    for (let i = 0; i < d.length; i++) d[i] *= a.alpha;
    dx = output(args, x.shape, d);
  } else dx = output(args, [0], new Float32Array(0));
  return [dx, output(args, [out, inn], arena.take(dwp, 1, out * inn, out * inn)), output(args, [out], Float32Array.from(db, (v) => a.beta * v))];
}

export const LAYER_DENSE_KERNELS: FastKernel[] = [
  { kernelName: LAYER_DENSE, kernelFunc: forward },
  { kernelName: LAYER_DENSE_GRAD, kernelFunc: backward },
];
