// Sums along an axis in WebAssembly (the JS side: reduce.ts, and the bias gradients of the layer
// kernels), accumulated in float64 in a fixed order, as tfjs's own Sum kernel does.
import { pairF32, storeSums } from './lanes.as';

/**
 * out[j] = sum over r < rows of x[r, j] for a [rows, cols] matrix: sums over leading axes (bias
 * gradients). Each column accumulates in float64, rows in order, then rounds to float32. Eight
 * columns at a time, two to a register: a column's sum is the chain of adds it would be alone,
 * so the bits do not depend on how columns are grouped; the chains of a group run side by side.
 */
export function sumRows(x: usize, rows: i32, cols: i32, out: usize): void {
  const stride = <usize>cols << 2;
  for (let j = 0; j < cols; j += 8) {
    const w = min(8, cols - j);
    let a0 = f64x2.splat(0);
    let a1 = a0, a2 = a0, a3 = a0;
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++) {
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(pairF32(p, w, 0)));
      if (w > 2) a1 = f64x2.add(a1, f64x2.promote_low_f32x4(pairF32(p, w, 2)));
      if (w > 4) a2 = f64x2.add(a2, f64x2.promote_low_f32x4(pairF32(p, w, 4)));
      if (w > 6) a3 = f64x2.add(a3, f64x2.promote_low_f32x4(pairF32(p, w, 6)));
      p += stride;
    }
    const o = out + (<usize>j << 2);
    storeSums(o, w, 0, a0);
    if (w > 2) storeSums(o, w, 2, a1);
    if (w > 4) storeSums(o, w, 4, a2);
    if (w > 6) storeSums(o, w, 6, a3);
  }
}

/** out[r] = sum over j < cols of x[r, j], accumulated in float64 in order (sums over trailing axes). */
export function sumCols(x: usize, rows: i32, cols: i32, out: usize): void {
  let p = x;
  for (let r = 0; r < rows; r++) {
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) s += <f64>load<f32>(p + (<usize>j << 2));
    store<f32>(out + (<usize>r << 2), <f32>s);
    p += <usize>cols << 2;
  }
}
