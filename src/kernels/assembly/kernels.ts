// WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build.mjs with `asc`). Pointers are
// byte offsets into this module's memory, which the JS side (src/kernels/wasm.ts) manages as an
// arena above heapBase(). Strides and sizes are in floats. All arithmetic is float32; results
// depend only on the inputs (fixed loop orders, no threads), which determinism needs.

/** Reductions over k run in chunks of KC, each chunk summed in registers, then added to C. */
const KC: i32 = 128;

export * from './elementwise';
export * from './update';

export function heapBase(): usize {
  return __heap_base;
}

// ---- GEMM: C[M, N] = A[M, K] B[K, N] -------------------------------------------------------------
// A is read through strides (element (m, k) at a + 4 (m rsA + k csA)), so A or A^T both work;
// B rows are contiguous (N must be a multiple of 4), C rows too. SIMD runs along N.

// @ts-ignore: decorator
@inline function tile4x8(kn: i32, a: usize, rsA: usize, csA: usize, b: usize, ldb: usize, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = f32x4.splat(load<f32>(a));
    const a1 = f32x4.splat(load<f32>(a + rsA));
    const a2 = f32x4.splat(load<f32>(a + 2 * rsA));
    const a3 = f32x4.splat(load<f32>(a + 3 * rsA));
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    a += csA;
    b += ldb;
  }
  v128.store(c, f32x4.add(v128.load(c), c00));
  v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c10));
  v128.store(c, f32x4.add(v128.load(c, 16), c11), 16);
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c20));
  v128.store(c, f32x4.add(v128.load(c, 16), c21), 16);
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c30));
  v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
}

// @ts-ignore: decorator
@inline function tile4x4(kn: i32, a: usize, rsA: usize, csA: usize, b: usize, ldb: usize, c: usize, ldc: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    const b0 = v128.load(b);
    c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a)), b0));
    c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a + rsA)), b0));
    c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a + 2 * rsA)), b0));
    c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a + 3 * rsA)), b0));
    a += csA;
    b += ldb;
  }
  v128.store(c, f32x4.add(v128.load(c), c0));
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c1));
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c2));
  c += ldc;
  v128.store(c, f32x4.add(v128.load(c), c3));
}

// @ts-ignore: decorator
@inline function tile1x8(kn: i32, a: usize, csA: usize, b: usize, ldb: usize, c: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    const av = f32x4.splat(load<f32>(a));
    c0 = f32x4.add(c0, f32x4.mul(av, v128.load(b)));
    c1 = f32x4.add(c1, f32x4.mul(av, v128.load(b, 16)));
    a += csA;
    b += ldb;
  }
  v128.store(c, f32x4.add(v128.load(c), c0));
  v128.store(c, f32x4.add(v128.load(c, 16), c1), 16);
}

// @ts-ignore: decorator
@inline function tile1x4(kn: i32, a: usize, csA: usize, b: usize, ldb: usize, c: usize): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a)), v128.load(b)));
    a += csA;
    b += ldb;
  }
  v128.store(c, f32x4.add(v128.load(c), c0));
}

export function gemm(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  const rsA4 = <usize>rsA << 2, csA4 = <usize>csA << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
  // The tiles add each k-chunk's sums into C: start from zero.
  for (let m = 0; m < M; m++) memory.fill(c + <usize>m * ldc4, 0, <usize>N << 2);
  for (let kb = 0; kb < K; kb += KC) {
    const kn = min(KC, K - kb);
    const ak = a + <usize>kb * csA4;
    const bk = b + <usize>kb * ldb4;
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const am = ak + <usize>m * rsA4;
      const cm = c + <usize>m * ldc4;
      let n = 0;
      for (; n + 8 <= N; n += 8) tile4x8(kn, am, rsA4, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2), ldc4);
      for (; n + 4 <= N; n += 4) tile4x4(kn, am, rsA4, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2), ldc4);
    }
    for (; m < M; m++) {
      const am = ak + <usize>m * rsA4;
      const cm = c + <usize>m * ldc4;
      let n = 0;
      for (; n + 8 <= N; n += 8) tile1x8(kn, am, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2));
      for (; n + 4 <= N; n += 4) tile1x4(kn, am, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2));
    }
  }
}

// ---- im2col / col2im for NHWC, valid padding, stride 1 --------------------------------------------
// cols[(n, oy, ox), (ky, kx, c)] = x[n, oy + ky, ox + kx, c]: row length K = kh kw ch, padded to ldk.
// For a fixed (pixel, ky) the kw*ch values are contiguous in x, so each is one memory.copy.

export function im2col(x: usize, n: i32, h: i32, w: i32, ch: i32, kh: i32, kw: i32, cols: usize, ldk: i32): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const seg = <usize>(kw * ch) << 2;
  const K = kh * kw * ch;
  let row = cols;
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const src = x + (<usize>(((s * h + oy + ky) * w + ox) * ch) << 2);
          memory.copy(row + <usize>(ky * kw * ch) * 4, src, seg);
        }
        if (ldk > K) memory.fill(row + (<usize>K << 2), 0, <usize>(ldk - K) << 2);
        row += <usize>ldk << 2;
      }
    }
  }
}

/** dx[n, y, x, c] = sum of the cols entries that im2col took from it (dx is overwritten). */
export function col2im(cols: usize, ldk: i32, n: i32, h: i32, w: i32, ch: i32, kh: i32, kw: i32, dx: usize): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const segLen = kw * ch;
  memory.fill(dx, 0, <usize>(n * h * w * ch) << 2);
  let row = cols;
  for (let s = 0; s < n; s++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const dst = dx + (<usize>(((s * h + oy + ky) * w + ox) * ch) << 2);
          const src = row + (<usize>(ky * segLen) << 2);
          let i = 0;
          for (; i + 4 <= segLen; i += 4) {
            const o = <usize>i << 2;
            v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
          }
          for (; i < segLen; i++) {
            const o = <usize>i << 2;
            store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
          }
        }
        row += <usize>ldk << 2;
      }
    }
  }
}

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

// @ts-ignore: decorator
@inline function tanh4(v: v128): v128 {
  const one = f32x4.splat(1);
  const a = f32x4.pmin(f32x4.abs(v), f32x4.splat(9));
  const t2 = f32x4.add(a, a);
  const round = f32x4.splat(12582912); // 1.5 2^23
  const kr = f32x4.add(f32x4.mul(t2, f32x4.splat(1.4426950408889634)), round);
  const k = f32x4.sub(kr, round);
  const r = f32x4.sub(f32x4.sub(t2, f32x4.mul(k, f32x4.splat(0.693145751953125))), f32x4.mul(k, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.add(f32x4.splat(1.0 / 720), f32x4.mul(r, f32x4.splat(1.0 / 5040)));
  p = f32x4.add(f32x4.splat(1.0 / 120), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(1.0 / 24), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(1.0 / 6), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(1.0 / 2), f32x4.mul(r, p));
  p = f32x4.add(one, f32x4.mul(r, p));
  const q = f32x4.mul(r, p); // e^r - 1
  const s = i32x4.shl(i32x4.add(kr, i32x4.splat(127)), 23); // 2^k as float bits
  const em1 = f32x4.add(f32x4.mul(s, q), f32x4.sub(s, one));
  const t = f32x4.div(em1, f32x4.add(em1, f32x4.splat(2)));
  return v128.or(t, v128.and(v, i32x4.splat(0x80000000)));
}

export function tanh(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, tanh4(v128.load(x + o)));
  }
}

// ---- the epilogue and its gradient of the layer ops (src/ops/) ----------------------------------
// Activations by code: 0 linear, 1 tanh, 2 relu, 3 sigmoid (= (1 + tanh(z / 2)) / 2).

/**
 * In place, y[i] = act(alpha y[i] + b[i mod period]) for i < n: the bias (already scaled) and
 * activation of a layer after its matrix product. n and period are multiples of 4.
 */
export function biasAct(y: usize, n: i32, b: usize, period: i32, alpha: f32, act: i32): void {
  const al = f32x4.splat(alpha);
  const half = f32x4.splat(0.5);
  const zero = f32x4.splat(0);
  let j = 0;
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const z = f32x4.add(f32x4.mul(al, v128.load(y + o)), v128.load(b + (<usize>j << 2)));
    let v = z;
    if (act == 1) v = tanh4(z);
    else if (act == 2) v = f32x4.max(z, zero);
    else if (act == 3) v = f32x4.add(half, f32x4.mul(half, tanh4(f32x4.mul(z, half))));
    v128.store(y + o, v);
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
    const t = v128.load(y + o);
    const g = v128.load(dy + o);
    let v = g;
    if (act == 1) v = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), g);
    else if (act == 2) v = v128.and(g, f32x4.gt(t, zero));
    else if (act == 3) v = f32x4.mul(f32x4.mul(t, f32x4.sub(one, t)), g);
    v128.store(out + o, v);
  }
}

// ---- direct convolution with one input channel (C1) ------------------------------------------------
// With a single input channel im2col would write 25 floats per output pixel; these read the image
// rows in place instead. SIMD runs along x: four neighbouring output pixels at once, which reads
// four consecutive input pixels (contiguous, as there is one channel). Requires (w - kw + 1) % 4 == 0.

/**
 * planar[o][p] = sum_{ky,kx} x[s, oy+ky, ox+kx] f[ky, kx, o] for p = (s, oy, ox). Channels go three
 * at a time (each x load feeds three independent sums), the rest one at a time.
 */
export function conv1Planar(x: usize, n: i32, h: i32, w: i32, f: usize, kh: i32, kw: i32, o: i32, planar: usize): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const P = n * oh * ow;
  const fo = <usize>o << 2; // f's stride between (ky, kx) positions
  let c = 0;
  for (; c + 3 <= o; c += 3) {
    let out = planar + (<usize>(c * P) << 2);
    const plane = <usize>P << 2;
    for (let s = 0; s < n; s++) {
      for (let oy = 0; oy < oh; oy++) {
        const row = x + (<usize>((s * h + oy) * w) << 2);
        for (let ox = 0; ox < ow; ox += 4) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
          for (let ky = 0; ky < kh; ky++) {
            let xr = row + (<usize>(ky * w + ox) << 2);
            let fr = f + (<usize>(ky * kw * o + c) << 2);
            for (let kx = 0; kx < kw; kx++) {
              const xv = v128.load(xr);
              a0 = f32x4.add(a0, f32x4.mul(xv, v128.load32_splat(fr)));
              a1 = f32x4.add(a1, f32x4.mul(xv, v128.load32_splat(fr + 4)));
              a2 = f32x4.add(a2, f32x4.mul(xv, v128.load32_splat(fr + 8)));
              xr += 4;
              fr += fo;
            }
          }
          v128.store(out, a0);
          v128.store(out + plane, a1);
          v128.store(out + 2 * plane, a2);
          out += 16;
        }
      }
    }
  }
  for (; c < o; c++) {
    let out = planar + (<usize>(c * P) << 2);
    for (let s = 0; s < n; s++) {
      for (let oy = 0; oy < oh; oy++) {
        const row = x + (<usize>((s * h + oy) * w) << 2);
        for (let ox = 0; ox < ow; ox += 4) {
          let acc = f32x4.splat(0);
          for (let ky = 0; ky < kh; ky++) {
            const xr = row + (<usize>(ky * w + ox) << 2);
            const fr = f + (<usize>(ky * kw * o + c) << 2);
            for (let kx = 0; kx < kw; kx++) {
              acc = f32x4.add(acc, f32x4.mul(v128.load(xr + (<usize>kx << 2)), v128.load32_splat(fr + (<usize>(kx * o) << 2))));
            }
          }
          v128.store(out, acc);
          out += 16;
        }
      }
    }
  }
}

/** nhwc[p, c] = planar[c][p] for P pixels and o channels; the reverse copy with `toPlanar`. */
export function interleave(planar: usize, P: i32, o: i32, nhwc: usize, toPlanar: i32): void {
  for (let c = 0; c < o; c++) {
    const plane = planar + (<usize>(c * P) << 2);
    for (let p = 0; p < P; p++) {
      const a = plane + (<usize>p << 2);
      const b = nhwc + (<usize>(p * o + c) << 2);
      if (toPlanar) store<f32>(a, load<f32>(b));
      else store<f32>(b, load<f32>(a));
    }
  }
}

/**
 * dw[ky, kx, c] = sum over p = (s, oy, ox) of x[s, oy+ky, ox+kx] dy[c][p] (dy planar). For one
 * (c, ky) the kw sums are formed side by side (five independent chains: a single running sum
 * would wait on its own previous add at every pixel); each sample's sums are formed in registers,
 * then added to the totals in sample order. kw is at most 5; when it is less, the unused sums
 * still read 5 - kw floats past the end of each row, so x needs 4 floats of slack after its end.
 */
export function conv1Filter(x: usize, n: i32, h: i32, w: i32, dy: usize, kh: i32, kw: i32, o: i32, dw: usize): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const P = n * oh * ow;
  for (let c = 0; c < o; c++) {
    for (let ky = 0; ky < kh; ky++) {
      let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0), t4 = f32x4.splat(0);
      let g = dy + (<usize>(c * P) << 2);
      for (let s = 0; s < n; s++) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0), a4 = f32x4.splat(0);
        for (let oy = 0; oy < oh; oy++) {
          let xr = x + (<usize>((s * h + oy + ky) * w) << 2);
          for (let ox = 0; ox < ow; ox += 4) {
            const gv = v128.load(g);
            a0 = f32x4.add(a0, f32x4.mul(v128.load(xr), gv));
            a1 = f32x4.add(a1, f32x4.mul(v128.load(xr, 4), gv));
            a2 = f32x4.add(a2, f32x4.mul(v128.load(xr, 8), gv));
            a3 = f32x4.add(a3, f32x4.mul(v128.load(xr, 12), gv));
            a4 = f32x4.add(a4, f32x4.mul(v128.load(xr, 16), gv));
            g += 16;
            xr += 16;
          }
        }
        t0 = f32x4.add(t0, a0);
        t1 = f32x4.add(t1, a1);
        t2 = f32x4.add(t2, a2);
        t3 = f32x4.add(t3, a3);
        t4 = f32x4.add(t4, a4);
      }
      const out = dw + (<usize>(ky * kw * o + c) << 2);
      const step = <usize>o << 2;
      store<f32>(out, hsum(t0));
      if (kw > 1) store<f32>(out + step, hsum(t1));
      if (kw > 2) store<f32>(out + 2 * step, hsum(t2));
      if (kw > 3) store<f32>(out + 3 * step, hsum(t3));
      if (kw > 4) store<f32>(out + 4 * step, hsum(t4));
    }
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
