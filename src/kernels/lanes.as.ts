// Partial-vector helpers for kernels that walk rows of w floats as pairs of columns (sumRows,
// actGradPlanar): no read or write past a row's end.

/** Columns k and k + 1 of a row of w floats (only k when k + 1 = w) in lanes 0 and 1, zeros above. */
// @ts-ignore: decorator
@inline export function pairF32(p: usize, w: i32, k: i32): v128 {
  const at = p + (<usize>k << 2);
  return k + 2 <= w ? v128.load64_zero(at) : v128.load32_zero(at);
}

/** The two float64 sums of a pair, rounded to float32, to columns k and k + 1 at o (only k when k + 1 = w). */
// @ts-ignore: decorator
@inline export function storeSums(o: usize, w: i32, k: i32, a: v128): void {
  store<f32>(o + (<usize>k << 2), <f32>f64x2.extract_lane(a, 0));
  if (k + 1 < w) store<f32>(o + (<usize>(k + 1) << 2), <f32>f64x2.extract_lane(a, 1));
}

/** Lanes 0 and 1 of v to out + k stride and out + (k + 1) stride (only the first when k + 1 = w): a pair of columns scattered to their planes. */
// @ts-ignore: decorator
@inline export function storePairTo(out: usize, stride: usize, w: i32, k: i32, v: v128): void {
  store<f32>(out + <usize>k * stride, f32x4.extract_lane(v, 0));
  if (k + 1 < w) store<f32>(out + <usize>(k + 1) * stride, f32x4.extract_lane(v, 1));
}
