// The conv2d layer op (src/ops/conv2d.ts) on the WebAssembly kernels: the product as the stock
// Conv2D kernels do it (conv.ts: blocked im2col + GEMM), the OIHW filter laid out in wasm, with the
// scaling, bias and activation applied in one pass over the product's output (biasAct), and
// the backward pass reading the activation's slope from the saved output (actGrad).
//
// With P = n oh ow output pixels, K = kh kw c, O output channels, W the HWIO filter as [K, O]:
//   forward   y[P, O]  = act(alpha cols[P, K] W[K, O] + beta b)
//   backward  g[P, O]  = dy act'(y);  db = beta sum_P g;  dW = alpha cols^T g;  dx = col2im(alpha g W^T)
import * as tf from '@tensorflow/tfjs-core';
import { activationCode } from '../ops/activation.js';
import { convAttrs, LAYER_CONV2D, LAYER_CONV2D_GRAD, type Conv2dAttrs } from '../ops/conv2d.js';
import { slopeAndBiasSum, slopeAndBiasSumPlanar } from './activation.js';
import { convProduct, filterGradient, inputGradient, planarFilterGradient, putX } from './conv.js';
import { geometry, outputLd } from './conv-geometry.js';
import { output, roundUp4, stock, values, type FastKernel, type KernelArgs } from './util.js';
import { Arena, kernels } from './wasm.js';

/** The bias, scaled by beta, repeated to `period` floats (a multiple of 4) for biasAct, zero past o. */
function biasRow(arena: Arena, b: Float32Array | null, beta: number, o: number, ld: number, period: number): number {
  const bp = arena.alloc(period);
  const row = arena.f32(bp, period);
  row.fill(0);
  if (b) for (let r = 0; r < period / ld; r++) for (let k = 0; k < o; k++) row[r * ld + k] = beta * b[k];
  return bp;
}

/** A [o, c] mask as floats in the arena (0: no mask). */
const putMask = (arena: Arena, mask: number[] | null) => (mask ? arena.put(Float32Array.from(mask)) : 0);

function forward(args: KernelArgs): tf.TensorInfo {
  const { x, filter, bias } = args.inputs;
  const a = args.attrs as unknown as Conv2dAttrs;
  const [o, c, kh, kw] = filter.shape;
  const g = x.dtype === 'float32' && geometry(x.shape, [kh, kw, c, o], convAttrs(a));
  if (!g) return stock(LAYER_CONV2D, args) as tf.TensorInfo;
  const ld = outputLd(g);
  const arena = new Arena();
  const wk = kernels();
  const xp = arena.put(values(args, x));
  const fp = arena.put(values(args, filter));
  const wp = arena.alloc(g.K * ld);
  wk.filterToMatrix(fp, o, c, kh, kw, putMask(arena, a.mask), 1, wp, ld, 1, g.K * ld); // W [K, ld], masked
  const yp = convProduct(arena, g, xp, wp, ld);
  // One bias row of period floats covers whole rows: ld when ld is a multiple of 4, else 4 ld.
  const period = ld % 4 === 0 ? ld : 4 * ld;
  const bp = biasRow(arena, bias ? values(args, bias) : null, a.beta, o, ld, period);
  wk.biasAct(yp, roundUp4(g.P * ld), bp, period, a.alpha, activationCode(a.activation));
  return output(args, g.outShape, arena.take(yp, g.P, o, ld));
}

/** Inputs dy, x, filter, y; outputs [dx ([0] without inputGrad), dw, db]. */
function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, filter, y } = args.inputs;
  const a = args.attrs as unknown as Conv2dAttrs;
  const [o, c, kh, kw] = filter.shape;
  const geo = x.dtype === 'float32' && geometry(x.shape, [kh, kw, c, o], convAttrs(a));
  if (!geo) return stock(LAYER_CONV2D_GRAD, args) as tf.TensorInfo[];
  const { P, K } = geo;
  const ld = outputLd(geo);
  const kPad = roundUp4(K);
  const arena = new Arena();
  const wk = kernels();
  const mask = putMask(arena, a.mask);
  const xp = putX(arena, values(args, x));
  // g = dy act'(y) and its bias sum. As rows [P, ld] (zero past o: dy is zero there) for the GEMM
  // kernels and the input gradient; as planes [o][P] (ld = o) for the direct kernels' filter
  // gradient, made in the same pass, when the input gradient is not wanted.
  let gp = 0;
  let dbp: number;
  let dwp: number;
  if (geo.direct && !a.inputGrad) {
    const s = slopeAndBiasSumPlanar(arena, values(args, dy), values(args, y), P, o, a.activation);
    dbp = s.dbp;
    dwp = planarFilterGradient(arena, geo, xp, s.planar);
  } else {
    ({ gp, dbp } = slopeAndBiasSum(arena, values(args, dy), values(args, y), P, o, ld, a.activation));
    dwp = filterGradient(arena, geo, xp, gp);
  }
  const dwOut = arena.alloc(o * K);
  wk.filterFromKO(dwp, ld, o, c, kh, kw, mask, a.alpha, dwOut); // alpha dW, OIHW, zero where masked
  let dxp = 0;
  if (a.inputGrad) {
    const wtp = arena.alloc(o * kPad);
    wk.filterToMatrix(arena.put(values(args, filter)), o, c, kh, kw, mask, a.alpha, wtp, 1, kPad, o * kPad); // alpha W^T [o, kPad]
    dxp = inputGradient(arena, geo, gp, ld, wtp);
  }
  const size = geo.n * geo.h * geo.w * geo.c;
  const db = arena.f32(dbp, o);
  const dx = a.inputGrad ? output(args, x.shape, arena.take(dxp, 1, size, size)) : output(args, [0], new Float32Array(0));
  return [
    dx,
    output(args, filter.shape, arena.take(dwOut, 1, o * K, o * K)),
    output(args, [o], Float32Array.from(db, (v) => a.beta * v)),
  ];
}

export const LAYER_CONV2D_KERNELS: FastKernel[] = [
  { kernelName: LAYER_CONV2D, kernelFunc: forward },
  { kernelName: LAYER_CONV2D_GRAD, kernelFunc: backward },
];
