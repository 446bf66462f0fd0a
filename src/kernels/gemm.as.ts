// GEMM in WebAssembly SIMD, the product under the convolution and dense kernels. All arithmetic
// is float32 in a fixed order (k in chunks of KC, each chunk summed in registers, then added to C),
// so a result depends only on the operands and the sizes.

/** Reductions over k run in chunks of KC, each chunk summed in registers, then added to C. */
const KC: i32 = 128;

// ---- GEMM: C[M, N] = A[M, K] B[K, N] -------------------------------------------------------------
// A is read through strides (element (m, k) at a + 4 (m rsA + k csA)), so A or A^T both work;
// B rows are contiguous (N must be a multiple of 4), C rows too. SIMD runs along N.
// gemmAdd adds the product into C; gemm overwrites C.

/** What a tile stores for its sums v at c + offset: C + v when adding to C, else v (C overwritten). */
// @ts-ignore: decorator
@inline function total(ADD: bool, c: usize, offset: usize, v: v128): v128 {
  return ADD ? f32x4.add(v128.load(c + offset), v) : v;
}

// @ts-ignore: decorator
@inline function tile4x8(ADD: bool, kn: i32, a: usize, rsA: usize, csA: usize, b: usize, ldb: usize, c: usize, ldc: usize): void {
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
  v128.store(c, total(ADD, c, 0, c00));
  v128.store(c, total(ADD, c, 16, c01), 16);
  c += ldc;
  v128.store(c, total(ADD, c, 0, c10));
  v128.store(c, total(ADD, c, 16, c11), 16);
  c += ldc;
  v128.store(c, total(ADD, c, 0, c20));
  v128.store(c, total(ADD, c, 16, c21), 16);
  c += ldc;
  v128.store(c, total(ADD, c, 0, c30));
  v128.store(c, total(ADD, c, 16, c31), 16);
}

// @ts-ignore: decorator
@inline function tile4x4(ADD: bool, kn: i32, a: usize, rsA: usize, csA: usize, b: usize, ldb: usize, c: usize, ldc: usize): void {
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
  v128.store(c, total(ADD, c, 0, c0));
  c += ldc;
  v128.store(c, total(ADD, c, 0, c1));
  c += ldc;
  v128.store(c, total(ADD, c, 0, c2));
  c += ldc;
  v128.store(c, total(ADD, c, 0, c3));
}

// @ts-ignore: decorator
@inline function tile1x8(ADD: bool, kn: i32, a: usize, csA: usize, b: usize, ldb: usize, c: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    const av = v128.load32_splat(a);
    c0 = f32x4.add(c0, f32x4.mul(av, v128.load(b)));
    c1 = f32x4.add(c1, f32x4.mul(av, v128.load(b, 16)));
    a += csA;
    b += ldb;
  }
  v128.store(c, total(ADD, c, 0, c0));
  v128.store(c, total(ADD, c, 16, c1), 16);
}

// @ts-ignore: decorator
@inline function tile1x4(ADD: bool, kn: i32, a: usize, csA: usize, b: usize, ldb: usize, c: usize): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < kn; k++) {
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a), v128.load(b)));
    a += csA;
    b += ldb;
  }
  v128.store(c, total(ADD, c, 0, c0));
}

export function gemmAdd(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  for (let kb = 0; kb < K; kb += KC) chunk(true, M, N, kb, min(KC, K - kb), a, rsA, csA, b, ldb, c, ldc);
}

/**
 * C = A B (C's N columns of each of its M rows overwritten): the first chunk's sums are stored,
 * the later ones added, so C is never read before it is written (nor cleared first). The same
 * bits as clearing C and adding every chunk: a sum of products started from +0 is never -0.
 */
export function gemm(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  if (K <= 0) {
    for (let m = 0; m < M; m++) memory.fill(c + (<usize>(m * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  chunk(false, M, N, 0, min(KC, K), a, rsA, csA, b, ldb, c, ldc);
  for (let kb = KC; kb < K; kb += KC) chunk(true, M, N, kb, min(KC, K - kb), a, rsA, csA, b, ldb, c, ldc);
}

/** The products over k = kb .. kb + kn - 1, added to C (ADD) or stored to it. */
// @ts-ignore: decorator
@inline function chunk(ADD: bool, M: i32, N: i32, kb: i32, kn: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  const rsA4 = <usize>rsA << 2, csA4 = <usize>csA << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
  const ak = a + <usize>kb * csA4;
  const bk = b + <usize>kb * ldb4;
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const am = ak + <usize>m * rsA4;
    const cm = c + <usize>m * ldc4;
    let n = 0;
    for (; n + 8 <= N; n += 8) tile4x8(ADD, kn, am, rsA4, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2), ldc4);
    for (; n + 4 <= N; n += 4) tile4x4(ADD, kn, am, rsA4, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2), ldc4);
  }
  for (; m < M; m++) {
    const am = ak + <usize>m * rsA4;
    const cm = c + <usize>m * ldc4;
    let n = 0;
    for (; n + 8 <= N; n += 8) tile1x8(ADD, kn, am, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2));
    for (; n + 4 <= N; n += 4) tile1x4(ADD, kn, am, csA4, bk + (<usize>n << 2), ldb4, cm + (<usize>n << 2));
  }
}
