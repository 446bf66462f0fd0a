// Sums along an axis in WebAssembly (the JS side: reduce.ts, and the bias gradients of the layer
// kernels), accumulated in float64 in a fixed order, as tfjs's own Sum kernel does.

/**
 * out[j] = sum over r < rows of x[r, j] for a [rows, cols] matrix: sums over leading axes (bias
 * gradients). Accumulates in float64 (acc: cols doubles of scratch), rows in order, then rounds.
 */
export function sumRows(x: usize, rows: i32, cols: i32, acc: usize, out: usize): void {
  memory.fill(acc, 0, <usize>cols << 3);
  let row = x;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const a = acc + (<usize>j << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(row + (<usize>j << 2)));
    }
    row += <usize>cols << 2;
  }
  for (let j = 0; j < cols; j++) store<f32>(out + (<usize>j << 2), <f32>load<f64>(acc + (<usize>j << 3)));
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
