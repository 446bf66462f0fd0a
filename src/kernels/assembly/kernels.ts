// WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build.mjs with `asc`). Pointers are
// byte offsets into this module's memory, which the JS side (src/kernels/wasm.ts) manages as an
// arena above heapBase(). Strides and sizes are in floats. All arithmetic is float32; results
// depend only on the inputs (fixed loop orders, no threads), which determinism needs.

/** Reductions over k run in chunks of KC, each chunk summed in registers, then added to C. */
const KC: i32 = 128;

export function heapBase(): usize {
  return __heap_base;
}

// ---- GEMM: C[M, N] (+)= A[M, K] B[K, N] ----------------------------------------------------------
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

export function gemm(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32): void {
  const rsA4 = <usize>rsA << 2, csA4 = <usize>csA << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
  if (!accumulate) {
    for (let m = 0; m < M; m++) memory.fill(c + <usize>m * ldc4, 0, <usize>N << 2);
  }
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
