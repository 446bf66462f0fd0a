// GEMM in WebAssembly SIMD, the product under the convolution and dense kernels. All arithmetic
// is float32 in a fixed order (k in chunks of KC, each chunk summed in registers, then added to C),
// so a result depends only on the operands and the sizes.

/** Reductions over k run in chunks of KC, each chunk summed in registers, then added to C. */
const KC: i32 = 128;

// ---- GEMM: C[M, N] = A[M, K] B[K, N] -------------------------------------------------------------
// A is read through strides (element (m, k) at a + 4 (m rsA + k csA)), so A or A^T both work;
// B rows are contiguous (N must be a multiple of 4), C rows too. SIMD runs along N.
// gemmAdd adds the product into C; gemm overwrites C.

// @ts-ignore: decorator
@inline function tile4x8(kn: i32, a: usize, rsA: usize, csA: usize, b: usize, ldb: usize, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + rsA);
    const a2 = v128.load32_splat(a + 2 * rsA);
    const a3 = v128.load32_splat(a + 3 * rsA);
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
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a), b0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(a + rsA), b0));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(a + 2 * rsA), b0));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(a + 3 * rsA), b0));
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
    const av = v128.load32_splat(a);
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
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a), v128.load(b)));
    a += csA;
    b += ldb;
  }
  v128.store(c, f32x4.add(v128.load(c), c0));
}

export function gemmAdd(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  const rsA4 = <usize>rsA << 2, csA4 = <usize>csA << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
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

/** C = A B (C's N columns of each of its M rows overwritten). */
export function gemm(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  for (let m = 0; m < M; m++) memory.fill(c + (<usize>(m * ldc) << 2), 0, <usize>N << 2);
  gemmAdd(M, N, K, a, rsA, csA, b, ldb, c, ldc);
}
