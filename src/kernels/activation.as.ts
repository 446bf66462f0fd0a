// Activations in WebAssembly SIMD: tanh (the Tanh kernel, elementwise.ts) and the layer ops'
// epilogue and its gradient (layer-conv2d.ts, layer-dense.ts): bias, scale and activation in one
// pass over a product's output.

import { pairF32, storePairTo, storeSums } from './lanes.as';

// ---- tanh --------------------------------------------------------------------------------------
// y = tanh(x) for n floats (n rounded up to a multiple of 4: every value takes the same SIMD path,
// so a value's result does not depend on its position). With a = min(|x|, 9) (tanh(9) rounds to
// 1 in float32) and em1 = exp(2a) - 1: tanh(a) = em1 / (em1 + 2), sign restored from x.
// exp(2a) - 1 = 2^k (q + 1) - 1 = 2^k q + (2^k - 1), with k = round(2a / ln 2), r = 2a - k ln 2
// (|r| <= ln2 / 2, ln 2 split in two so that k ln2_hi is exact) and q = e^r - 1 by its Taylor
// series to r^7 (truncation < 2^-27 relative). Computing e^r - 1 directly keeps small |x|
// accurate: no 1 - (something near 1) cancellation. Accuracy: a few float32 ulp.
// Cheap forms of the same values: pmin is min for these operands (one instruction, where min's
// NaN and -0 rules cost several); k is rounded by adding 1.5 2^23 (ties to even, as `nearest`),
// which also leaves k + 0x400000 in the sum's mantissa bits, so ((bits + 127) << 23) is 2^k.

// V8 rebuilds a SIMD constant at every use inside a loop (several instructions each): the
// kernels below load the constants once, before their loops, and pass them in.

const TANH_F = memory.data<f32>([1, 9, 12582912 /* 1.5 2^23 */, 1.4426950408889634, 0.693145751953125, 1.428606765330187e-6,
  1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 2]);
const TANH_I = memory.data<i32>([127, 0x80000000]);

// @ts-ignore: decorator
@inline function splatF(i: i32): v128 {
  return v128.load32_splat(TANH_F + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function tanh4(v: v128, one: v128, nine: v128, round: v128, log2e: v128, ln2hi: v128, ln2lo: v128,
  p7: v128, p6: v128, p5: v128, p4: v128, p3: v128, half: v128, two: v128, bias: v128, sign: v128): v128 {
  const a = f32x4.pmin(f32x4.abs(v), nine);
  const t2 = f32x4.add(a, a);
  const kr = f32x4.add(f32x4.mul(t2, log2e), round);
  const k = f32x4.sub(kr, round);
  const r = f32x4.sub(f32x4.sub(t2, f32x4.mul(k, ln2hi)), f32x4.mul(k, ln2lo));
  let p = f32x4.add(p6, f32x4.mul(r, p7));
  p = f32x4.add(p5, f32x4.mul(r, p));
  p = f32x4.add(p4, f32x4.mul(r, p));
  p = f32x4.add(p3, f32x4.mul(r, p));
  p = f32x4.add(half, f32x4.mul(r, p));
  p = f32x4.add(one, f32x4.mul(r, p));
  const q = f32x4.mul(r, p); // e^r - 1
  const s = i32x4.shl(i32x4.add(kr, bias), 23); // 2^k as float bits
  const em1 = f32x4.add(f32x4.mul(s, q), f32x4.sub(s, one));
  const t = f32x4.div(em1, f32x4.add(em1, two));
  return v128.or(t, v128.and(v, sign));
}

/**
 * out[i] = f(alpha x[i] + b[i mod period]) (f(x[i]) unless `affine`) for i < n (both multiples of
 * 4), f = tanh, or with
 * `sigmoid` (1 + tanh(z / 2)) / 2. The constants are loaded here, once.
 */
// @ts-ignore: decorator
@inline function tanhRun(x: usize, out: usize, n: i32, affine: bool, b: usize, period: i32, alpha: f32, sigmoid: bool): void {
  const one = splatF(0), nine = splatF(1), round = splatF(2), log2e = splatF(3), ln2hi = splatF(4), ln2lo = splatF(5);
  const p7 = splatF(6), p6 = splatF(7), p5 = splatF(8), p4 = splatF(9), p3 = splatF(10), half = splatF(11), two = splatF(12);
  const bias = v128.load32_splat(TANH_I), sign = v128.load32_splat(TANH_I + 4);
  const al = f32x4.splat(alpha);
  let j = 0;
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const z = affine ? f32x4.add(f32x4.mul(al, v128.load(x + o)), v128.load(b + (<usize>j << 2))) : v128.load(x + o);
    let v: v128;
    if (sigmoid) v = f32x4.add(half, f32x4.mul(half, tanh4(f32x4.mul(z, half), one, nine, round, log2e, ln2hi, ln2lo, p7, p6, p5, p4, p3, half, two, bias, sign)));
    else v = tanh4(z, one, nine, round, log2e, ln2hi, ln2lo, p7, p6, p5, p4, p3, half, two, bias, sign);
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
