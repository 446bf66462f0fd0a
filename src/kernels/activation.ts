// The JS side of activation.as.ts shared by the layer kernels (layer-conv2d.ts, layer-dense.ts):
// the first part of a layer's backward pass, which is the same for every layer.
import { activationCode, type Activation } from '../ops/activation.js';
import { roundUp4 } from './util.js';
import { Arena, kernels } from './wasm.js';

/**
 * g = dy act'(y) as [rows, ld] (zero past cols: dy is zero there) and the bias gradient's sum
 * db = sum over rows of g ([ld], float64 accumulation), from dy and the saved output y, both
 * [rows, cols]. Returns their pointers.
 */
export function slopeAndBiasSum(arena: Arena, dy: Float32Array, y: Float32Array, rows: number, cols: number, ld: number, activation: Activation): { gp: number; dbp: number } {
  const wk = kernels();
  const dyp = arena.putRows(dy, rows, cols, ld);
  const ypp = arena.putRows(y, rows, cols, ld);
  const gp = arena.alloc(rows * ld);
  wk.actGrad(dyp, ypp, gp, roundUp4(rows * ld), activationCode(activation));
  const dbp = arena.alloc(ld);
  wk.sumRows(gp, rows, ld, dbp);
  return { gp, dbp };
}

/**
 * slopeAndBiasSum with g laid out as planes, planar[c][p] ([cols, rows]: what the direct
 * convolution's filter gradient reads), in one pass (actGradPlanar); dy and y are [rows, cols].
 */
export function slopeAndBiasSumPlanar(arena: Arena, dy: Float32Array, y: Float32Array, rows: number, cols: number, activation: Activation): { planar: number; dbp: number } {
  const dyp = arena.putRows(dy, rows, cols, cols);
  const ypp = arena.putRows(y, rows, cols, cols);
  const planar = arena.alloc(rows * cols);
  const dbp = arena.alloc(cols);
  kernels().actGradPlanar(dyp, ypp, rows, cols, activationCode(activation), planar, dbp);
  return { planar, dbp };
}
