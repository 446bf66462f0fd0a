// Weights between PyTorch's layouts and the GEMM's operands: transposes, four by four in SIMD
// registers, with a scale (and a conv filter's mask) applied on the way. The weights are moved
// every micro-batch whatever its size, so this is part of the fixed cost that keeps 2 workers
// from twice one's speed. Every value is stored as f32(f f64(v)), the rounding of the JS
// reference for conv filters (src/ops/conv2d.ts relayout); test/kernels.test.ts checks every
// path against that definition bit for bit.
//
// Conv filters (OIHW) and the convolution GEMM's matrices (conv.as.ts):
//   w [o, c, kh, kw]; patch row r = (ky kw + kx) c + ci of K = kh kw c
//   W  [K, ld]:   W[r, k]  = f w[k, ci, ky, kx]      the forward's B operand
//   Wt [o, ld]:   Wt[k, r] = f w[k, ci, ky, kx]      the input gradient's
// with f = f64(mask[k, ci]) scale (mask [o, c] of 0/1, or none: f = scale).

// @ts-ignore: decorator
@inline function factor(mask: usize, i: i32, scale: f64): f64 {
  return mask ? <f64>load<f32>(mask + (<usize>i << 2)) * scale : scale;
}

/** f32(f f64(v)) lane by lane: float64 products, as the scalar path, so the same bits. */
// @ts-ignore: decorator
@inline function scale4(v: v128, f: f64): v128 {
  const f2 = f64x2.splat(f);
  const lo = f32x4.demote_f64x2_zero(f64x2.mul(f2, f64x2.promote_low_f32x4(v)));
  const hi = f32x4.demote_f64x2_zero(f64x2.mul(f2, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))));
  return v128.shuffle<i64>(lo, hi, 0, 2);
}

/**
 * dst[j dR + r] = f32(f(r, j) src[r sR + j]) for r < R, j < C (strides in floats), with
 * f(r, j) = factor(mask, m0 + r mR + j mC, scale); one of mR, mC must be 0 (a factor per source
 * row, or per source column), or there is no mask.
 */
function transposeScaled(src: usize, R: i32, C: i32, sR: i32, dst: usize, dR: i32, mask: usize, m0: i32, mR: i32, mC: i32, scale: f64): void {
  const plain = !mask && scale == 1; // f32(1 * f64(v)) is v: skip the products
  const perRow = !mask || mC == 0;
  const sR4 = <usize>sR << 2, dR4 = <usize>dR << 2;
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const s = src + <usize>r * sR4;
    const d = dst + (<usize>r << 2);
    const f0 = factor(mask, m0 + r * mR, scale), f1 = factor(mask, m0 + (r + 1) * mR, scale);
    const f2 = factor(mask, m0 + (r + 2) * mR, scale), f3 = factor(mask, m0 + (r + 3) * mR, scale);
    let j = 0;
    for (; j + 4 <= C; j += 4) {
      const o = <usize>j << 2;
      let a = v128.load(s + o), b = v128.load(s + sR4 + o), c = v128.load(s + 2 * sR4 + o), e = v128.load(s + 3 * sR4 + o);
      if (!plain && perRow) {
        a = scale4(a, f0);
        b = scale4(b, f1);
        c = scale4(c, f2);
        e = scale4(e, f3);
      }
      const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
      const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
      const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5);
      const t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
      let o0 = v128.shuffle<i64>(t0, t2, 0, 2), o1 = v128.shuffle<i64>(t0, t2, 1, 3); // a0 b0 c0 e0, a1 ...
      let o2 = v128.shuffle<i64>(t1, t3, 0, 2), o3 = v128.shuffle<i64>(t1, t3, 1, 3);
      if (!plain && !perRow) {
        o0 = scale4(o0, factor(mask, m0 + j * mC, scale));
        o1 = scale4(o1, factor(mask, m0 + (j + 1) * mC, scale));
        o2 = scale4(o2, factor(mask, m0 + (j + 2) * mC, scale));
        o3 = scale4(o3, factor(mask, m0 + (j + 3) * mC, scale));
      }
      const dj = d + <usize>j * dR4;
      v128.store(dj, o0);
      v128.store(dj + dR4, o1);
      v128.store(dj + 2 * dR4, o2);
      v128.store(dj + 3 * dR4, o3);
    }
    for (; j < C; j++)
      for (let q = 0; q < 4; q++) {
        const f = factor(mask, m0 + (r + q) * mR + j * mC, scale);
        store<f32>(d + <usize>j * dR4 + (<usize>q << 2), <f32>(f * <f64>load<f32>(s + <usize>q * sR4 + (<usize>j << 2))));
      }
  }
  for (; r < R; r++)
    for (let j = 0; j < C; j++) {
      const f = factor(mask, m0 + r * mR + j * mC, scale);
      store<f32>(dst + <usize>j * dR4 + (<usize>r << 2), <f32>(f * <f64>load<f32>(src + <usize>r * sR4 + (<usize>j << 2))));
    }
}

/** dst[j dR + r] = f32(scale src[r sR + j]) for r < R, j < C: a [R, C] matrix transposed (strides in floats). */
export function transpose(src: usize, R: i32, C: i32, sR: i32, dst: usize, dR: i32, scale: f64): void {
  transposeScaled(src, R, C, sR, dst, dR, 0, 0, 0, 0, scale);
}

/**
 * The filter as a GEMM operand, after zeroing `floats` floats of dst: dst[r sr + k sk] =
 * f32(f w[k, ci, ky, kx]). (sr, sk) = (ld, 1) gives W [K, ld], (1, ld) gives Wt [o, ld]; one of
 * them must be 1.
 */
export function filterToMatrix(w: usize, o: i32, c: i32, kh: i32, kw: i32, mask: usize, scale: f64, dst: usize, sr: i32, sk: i32, floats: i32): void {
  if ((kh * kw * c - 1) * sr + (o - 1) * sk >= floats) unreachable(); // the last entry must land inside dst
  memory.fill(dst, 0, <usize>floats << 2);
  const hw = kh * kw;
  const K = hw * c;
  if (sk == 1) {
    // Per input channel ci: w[:, ci, :] [o, hw] (rows k, stride K) -> rows (i c + ci) of W, column k.
    for (let ci = 0; ci < c; ci++) transposeScaled(w + (<usize>(ci * hw) << 2), o, hw, K, dst + (<usize>(ci * sr) << 2), c * sr, mask, ci, c, 0, scale);
  } else if (sr == 1) {
    // Per output channel k: w[k] [c, hw] -> row k of Wt, entry i c + ci.
    for (let k = 0; k < o; k++) transposeScaled(w + (<usize>(k * K) << 2), c, hw, hw, dst + (<usize>(k * sk) << 2), c, mask, k * c, 1, 0, scale);
  } else unreachable();
}

/** The inverse of filterToMatrix for W [K, ld]: w[k, ci, ky, kx] = f32(f src[(ky kw + kx) c + ci, k]). */
export function filterFromKO(src: usize, ld: i32, o: i32, c: i32, kh: i32, kw: i32, mask: usize, scale: f64, w: usize): void {
  const hw = kh * kw;
  // Per input channel ci: rows (i c + ci) of W [hw, o] (stride c ld) -> w[:, ci, :], a factor per output channel k.
  for (let ci = 0; ci < c; ci++) transposeScaled(src + (<usize>(ci * ld) << 2), hw, o, c * ld, w + (<usize>(ci * hw) << 2), hw * c, mask, ci, 0, c, scale);
}
