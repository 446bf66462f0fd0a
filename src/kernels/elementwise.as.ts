// Elementwise, reduction and pooling kernels (AssemblyScript, SIMD). These are memory-bound: in
// plain JS each float costs a float32 -> float64 -> float32 round trip (~1.8 ns a value measured);
// here four go per instruction, and the copies in and out of this memory cost ~0.1 ns a value.
// Every result is the float32 arithmetic of the op as tfjs defines it, value by value, so results
// do not depend on SIMD lanes or positions.

const OP_ADD: i32 = 0;
const OP_SUB: i32 = 1; // x - y
const OP_RSUB: i32 = 2; // y - x
const OP_MUL: i32 = 3;

// @ts-ignore: decorator
@inline function op4(op: i32, a: v128, b: v128): v128 {
  if (op == OP_ADD) return f32x4.add(a, b);
  if (op == OP_SUB) return f32x4.sub(a, b);
  if (op == OP_RSUB) return f32x4.sub(b, a);
  return f32x4.mul(a, b);
}

// @ts-ignore: decorator
@inline function op1(op: i32, a: f32, b: f32): f32 {
  if (op == OP_ADD) return a + b;
  if (op == OP_SUB) return a - b;
  if (op == OP_RSUB) return b - a;
  return a * b;
}

// @ts-ignore: decorator
@inline function binaryRun(op: i32, x: usize, y: usize, period: i32, out: usize, n: i32): void {
  for (let base = 0; base < n; base += period) {
    const len = min(period, n - base);
    const xb = x + (<usize>base << 2);
    const ob = out + (<usize>base << 2);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const o = <usize>j << 2;
      v128.store(ob + o, op4(op, v128.load(xb + o), v128.load(y + o)));
    }
    for (; j < len; j++) {
      const o = <usize>j << 2;
      store<f32>(ob + o, op1(op, load<f32>(xb + o), load<f32>(y + o)));
    }
  }
}

// out[i] = x[i] op y[i mod period] for i < n: same shapes (period >= n), or a bias or scalar
// repeated along trailing dims. Any period works; a multiple of 4 keeps every value on the SIMD
// path (the caller repeats short ys). One function per op, so no loop tests the op.
export function add(x: usize, y: usize, period: i32, out: usize, n: i32): void {
  binaryRun(OP_ADD, x, y, period, out, n);
}
export function sub(x: usize, y: usize, period: i32, out: usize, n: i32): void {
  binaryRun(OP_SUB, x, y, period, out, n);
}
export function rsub(x: usize, y: usize, period: i32, out: usize, n: i32): void {
  binaryRun(OP_RSUB, x, y, period, out, n);
}
export function mul(x: usize, y: usize, period: i32, out: usize, n: i32): void {
  binaryRun(OP_MUL, x, y, period, out, n);
}

/** out = x * x. */
export function square(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, f32x4.mul(v, v));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v * v);
  }
}

/**
 * The gradient of y = tanh(x) from y: dx = (1 - y y) dy, rounded after each operation exactly as
 * tfjs's own gradient (square, subtract, multiply) rounds, in one pass instead of three.
 */
export function tanhGrad(dy: usize, y: usize, out: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const t = v128.load(y + o);
    v128.store(out + o, f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), v128.load(dy + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const t = load<f32>(y + o);
    store<f32>(out + o, (1 - t * t) * load<f32>(dy + o));
  }
}

/** dst[r, j] = src[r, j] for a [rows, cols] matrix between row strides srcLd and dstLd; dst columns cols..dstLd-1 zeroed. */
export function copyRows(src: usize, srcLd: i32, dst: usize, dstLd: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * srcLd) << 2);
    const d = dst + (<usize>(r * dstLd) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(d + (<usize>j << 2), v128.load(s + (<usize>j << 2)));
    for (; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
    for (; j < dstLd; j++) store<f32>(d + (<usize>j << 2), 0);
  }
}
