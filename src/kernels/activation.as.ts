// Activations in WebAssembly SIMD: tanh (the Tanh kernel, elementwise.ts) and the layer ops'
// epilogue and its gradient (layer-conv2d.ts, layer-dense.ts): bias, scale and activation in one
// pass over a product's output.

import { pairF32, storePairTo, storeSums } from './lanes.as';

// ---- tanh ----------------------------------------------------------------------------------------
// y = tanh(x) for n floats (n rounded up to a multiple of 4: every value takes the same SIMD path,
// so a value's result does not depend on its position), as a rational function of a = min(|x|, 9)
// (tanh(9) rounds to 1 in float32), sign restored from x:
//   tanh(a) ~ a P(a^2) / Q(a^2),  P and Q of degree 4 with P(0) = Q(0) = 1, capped at 1, and 1 for a = 9,
// so tanh(x) = x exactly for tiny x, tanh(+-Infinity) = +-1, -0 and NaN pass through, and |y| <= 1. The coefficients fit
// tanh(a) / a on [0, 9] (scripts/fit-tanh.py: least squares reweighted towards the largest relative
// error, in float64). Evaluated in float32, every float32 input's result lies within 7 ulp
// (4.2e-7) of the correctly rounded tanh, the worst near 1 (scanned once over every float; the
// tests check every 61st). P and Q are two independent chains of four multiply-adds: about half
// the instructions and a third of the dependency chain of an exp-based form (e^2a - 1 by range
// reduction and a polynomial, then a division), at 7 ulp instead of that form's 2-3.
// Cheap forms of the same values: pmin is min for these operands (one instruction, where min's
// NaN and -0 rules cost several).

// V8 rebuilds a SIMD constant at every use inside a loop (several instructions each): the
// kernels below load the constants once, before their loops, and pass them in.

// 9, 1, then P's coefficients of a^2, a^4, a^6, a^8, then Q's, then 1/2 (the sigmoid's).
const TANH_F = memory.data<f32>([9, 1, 0.13385971, 0.0035013279, 2.06977609e-05, 1.34658e-08,
  0.467192927, 0.0258991683, 0.000329477821, 7.8245754e-07, 0.5]);
const SIGN = memory.data<i32>([0x80000000]);

// @ts-ignore: decorator
@inline function splatF(i: i32): v128 {
  return v128.load32_splat(TANH_F + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function tanh4(v: v128, nine: v128, one: v128, p1: v128, p2: v128, p3: v128, p4: v128,
  q1: v128, q2: v128, q3: v128, q4: v128, sign: v128): v128 {
  const a = f32x4.pmin(f32x4.abs(v), nine);
  const y = f32x4.mul(a, a);
  let p = f32x4.add(p3, f32x4.mul(y, p4));
  let q = f32x4.add(q3, f32x4.mul(y, q4));
  p = f32x4.add(p2, f32x4.mul(y, p));
  q = f32x4.add(q2, f32x4.mul(y, q));
  p = f32x4.add(p1, f32x4.mul(y, p));
  q = f32x4.add(q1, f32x4.mul(y, q));
  p = f32x4.add(one, f32x4.mul(y, p));
  q = f32x4.add(one, f32x4.mul(y, q));
  const t = f32x4.pmin(f32x4.div(f32x4.mul(a, p), q), one);
  return v128.or(v128.bitselect(one, t, f32x4.ge(a, nine)), v128.and(v, sign)); // 1 from 9 on
}

/**
 * out[i] = f(alpha x[i] + b[i mod period]) (f(x[i]) unless `affine`) for i < n (both multiples of
 * 4), f = tanh, or with
 * `sigmoid` (1 + tanh(z / 2)) / 2. The constants are loaded here, once.
 */
// @ts-ignore: decorator
@inline function tanhRun(x: usize, out: usize, n: i32, affine: bool, b: usize, period: i32, alpha: f32, sigmoid: bool): void {
  const nine = splatF(0), one = splatF(1), p1 = splatF(2), p2 = splatF(3), p3 = splatF(4), p4 = splatF(5);
  const q1 = splatF(6), q2 = splatF(7), q3 = splatF(8), q4 = splatF(9), half = splatF(10);
  const sign = v128.load32_splat(SIGN);
  const al = f32x4.splat(alpha);
  let j = 0;
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const z = affine ? f32x4.add(f32x4.mul(al, v128.load(x + o)), v128.load(b + (<usize>j << 2))) : v128.load(x + o);
    let v: v128;
    if (sigmoid) v = f32x4.add(half, f32x4.mul(half, tanh4(f32x4.mul(z, half), nine, one, p1, p2, p3, p4, q1, q2, q3, q4, sign)));
    else v = tanh4(z, nine, one, p1, p2, p3, p4, q1, q2, q3, q4, sign);
    v128.store(out + o, v);
    j += 4;
    if (j == period) j = 0;
  }
}

const ZERO4 = memory.data<f32>([0, 0, 0, 0]);

/** y = tanh(x) for n floats (n rounded up to a multiple of 4). */
export function tanh(x: usize, y: usize, n: i32): void {
  tanhRun(x, y, (n + 3) & ~3, false, ZERO4, 4, 1, false);
}

// ---- the epilogue and its gradient of the layer ops (src/ops/) ----------------------------------
// Activations by code: 0 linear, 1 tanh, 2 relu, 3 sigmoid (= (1 + tanh(z / 2)) / 2).

/**
 * In place, y[i] = act(alpha y[i] + b[i mod period]) for i < n: the bias (already scaled) and
 * activation of a layer after its matrix product. n and period are multiples of 4.
 */
export function biasAct(y: usize, n: i32, b: usize, period: i32, alpha: f32, act: i32): void {
  if (act == 1) {
    tanhRun(y, y, n, true, b, period, alpha, false);
    return;
  }
  if (act == 3) {
    tanhRun(y, y, n, true, b, period, alpha, true);
    return;
  }
  const al = f32x4.splat(alpha);
  const zero = f32x4.splat(0);
  let j = 0;
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const z = f32x4.add(f32x4.mul(al, v128.load(y + o)), v128.load(b + (<usize>j << 2)));
    v128.store(y + o, act == 2 ? f32x4.max(z, zero) : z);
    j += 4;
    if (j == period) j = 0;
  }
}

/**
 * out = dy act'(z) computed from the activation's output y, i < n (a multiple of 4): tanh
 * (1 - y y) dy (rounded as tanhGrad), relu dy where y > 0, sigmoid y (1 - y) dy, linear dy.
 */
export function actGrad(dy: usize, y: usize, out: usize, n: i32, act: i32): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, slope4(v128.load(dy + o), v128.load(y + o), act, one, zero));
  }
}

/** dy act'(z) from the output t = act(z), lane by lane (actGrad's arithmetic). */
// @ts-ignore: decorator
@inline function slope4(g: v128, t: v128, act: i32, one: v128, zero: v128): v128 {
  if (act == 1) return f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), g);
  if (act == 2) return v128.and(g, f32x4.gt(t, zero));
  if (act == 3) return f32x4.mul(f32x4.mul(t, f32x4.sub(one, t)), g);
  return g;
}

/**
 * actGrad, the bias gradient's sum and the planar layout in one pass, for the direct
 * convolution's filter gradient (conv1Filter reads g as planes): g = dy act'(y) for dy and y
 * [P, o] (rows of o floats) into planar[c][p], and db[c] = the sum over p of g[p, c] in float64 in
 * row order, rounded to float32. The same values as actGrad, then sumRows and toPlanar.
 */
export function actGradPlanar(dy: usize, y: usize, P: i32, o: i32, act: i32, planar: usize, db: usize): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const plane = <usize>P << 2;
  const row = <usize>o << 2;
  // Up to eight channels at a time, as four pairs (sumRows' grouping).
  for (let c0 = 0; c0 < o; c0 += 8) {
    const w = min(8, o - c0);
    let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let d = dy + (<usize>c0 << 2);
    let t = y + (<usize>c0 << 2);
    let out = planar + <usize>c0 * plane;
    let p = 0;
    // Four rows at a time: each pair's four slopes, summed in row order, go to their two planes
    // as one vector each (transposed in registers) instead of eight single floats.
    for (; p + 4 <= P; p += 4) {
      a0 = slopeQuad(d, t, row, w, 0, act, one, zero, out, plane, a0);
      if (w > 2) a1 = slopeQuad(d, t, row, w, 2, act, one, zero, out, plane, a1);
      if (w > 4) a2 = slopeQuad(d, t, row, w, 4, act, one, zero, out, plane, a2);
      if (w > 6) a3 = slopeQuad(d, t, row, w, 6, act, one, zero, out, plane, a3);
      d += row << 2;
      t += row << 2;
      out += 16;
    }
    for (; p < P; p++) {
      a0 = slopePair(d, t, w, 0, act, one, zero, out, plane, a0);
      if (w > 2) a1 = slopePair(d, t, w, 2, act, one, zero, out, plane, a1);
      if (w > 4) a2 = slopePair(d, t, w, 4, act, one, zero, out, plane, a2);
      if (w > 6) a3 = slopePair(d, t, w, 6, act, one, zero, out, plane, a3);
      d += row;
      t += row;
      out += 4;
    }
    const b = db + (<usize>c0 << 2);
    storeSums(b, w, 0, a0);
    if (w > 2) storeSums(b, w, 2, a1);
    if (w > 4) storeSums(b, w, 4, a2);
    if (w > 6) storeSums(b, w, 6, a3);
  }
}

/**
 * slopePair for four rows (d, t: the first's; rows `row` bytes apart): the four pairs' sums added
 * to acc in row order, the slopes transposed to [column k: rows 0..3] and [column k + 1: rows
 * 0..3], stored to planes k and k + 1 at `out` (only k when k + 1 = w).
 */
// @ts-ignore: decorator
@inline function slopeQuad(d: usize, t: usize, row: usize, w: i32, k: i32, act: i32, one: v128, zero: v128, out: usize, plane: usize, acc: v128): v128 {
  const r0 = slope4(pairF32(d, w, k), pairF32(t, w, k), act, one, zero);
  const r1 = slope4(pairF32(d + row, w, k), pairF32(t + row, w, k), act, one, zero);
  const r2 = slope4(pairF32(d + 2 * row, w, k), pairF32(t + 2 * row, w, k), act, one, zero);
  const r3 = slope4(pairF32(d + 3 * row, w, k), pairF32(t + 3 * row, w, k), act, one, zero);
  acc = f64x2.add(acc, f64x2.promote_low_f32x4(r0));
  acc = f64x2.add(acc, f64x2.promote_low_f32x4(r1));
  acc = f64x2.add(acc, f64x2.promote_low_f32x4(r2));
  acc = f64x2.add(acc, f64x2.promote_low_f32x4(r3));
  const lo = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // [r0.0, r1.0, r0.1, r1.1]
  const hi = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  v128.store(out + <usize>k * plane, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  if (k + 1 < w) v128.store(out + <usize>(k + 1) * plane, v128.shuffle<f32>(lo, hi, 2, 3, 6, 7));
  return acc;
}

/**
 * One pair of actGradPlanar's row: g for columns k, k + 1 of the rows at d (dy) and t (y), stored
 * to planes k and k + 1 at `out`; returns acc plus g in float64.
 */
// @ts-ignore: decorator
@inline function slopePair(d: usize, t: usize, w: i32, k: i32, act: i32, one: v128, zero: v128, out: usize, plane: usize, acc: v128): v128 {
  const g = slope4(pairF32(d, w, k), pairF32(t, w, k), act, one, zero);
  storePairTo(out, plane, w, k, g);
  return f64x2.add(acc, f64x2.promote_low_f32x4(g));
}

// ---- activations as ops of their own (tf.relu, tf.sigmoid) and relu's gradient (tf.step) -------

/** y = relu(x) (act 2) or sigmoid(x) (act 3) for n floats (n rounded up to a multiple of 4). */
export function activate(x: usize, y: usize, n: i32, act: i32): void {
  const m = (n + 3) & ~3;
  if (act == 3) {
    tanhRun(x, y, m, false, ZERO4, 4, 1, true);
    return;
  }
  const zero = f32x4.splat(0);
  for (let i = 0; i < m; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), zero));
  }
}

/** y = 1 where x > 0, NaN where x is NaN, alpha elsewhere (tfjs's Step), n rounded up to a multiple of 4. */
export function step(x: usize, y: usize, n: i32, alpha: f32): void {
  const one = f32x4.splat(1);
  const al = f32x4.splat(alpha);
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const s = v128.bitselect(one, al, f32x4.gt(v, zero));
    v128.store(y + o, v128.bitselect(v, s, f32x4.ne(v, v)));
  }
}
