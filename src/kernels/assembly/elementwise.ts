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

// ---- 2x2 average pooling, stride 2, NHWC --------------------------------------------------------
// Output [n, h/2, w/2, c] = (x00 + x01 + x10 + x11) / 4, summed in float64 as tfjs's own kernel
// does (so the results are its bits), two channels at a time.

export function avgPool2(x: usize, n: i32, h: i32, w: i32, c: i32, out: usize): void {
  const oh = h >> 1, ow = w >> 1;
  const q = f64x2.splat(0.25);
  const rowStride = <usize>(w * c) << 2;
  const c4 = <usize>c << 2;
  let o = out;
  for (let s = 0; s < n; s++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        const p00 = x + (<usize>(((s * h + 2 * y) * w + 2 * xx) * c) << 2);
        const p10 = p00 + rowStride;
        let k = 0;
        for (; k + 2 <= c; k += 2) {
          const b = <usize>k << 2;
          let sum = f64x2.promote_low_f32x4(v128.load64_zero(p00 + b));
          sum = f64x2.add(sum, f64x2.promote_low_f32x4(v128.load64_zero(p00 + c4 + b)));
          sum = f64x2.add(sum, f64x2.promote_low_f32x4(v128.load64_zero(p10 + b)));
          sum = f64x2.add(sum, f64x2.promote_low_f32x4(v128.load64_zero(p10 + c4 + b)));
          v128.store64_lane(o, f32x4.demote_f64x2_zero(f64x2.mul(sum, q)), 0);
          o += 8;
        }
        for (; k < c; k++) {
          const b = <usize>k << 2;
          const sum = <f64>load<f32>(p00 + b) + <f64>load<f32>(p00 + c4 + b) + <f64>load<f32>(p10 + b) + <f64>load<f32>(p10 + c4 + b);
          store<f32>(o, <f32>(sum * 0.25));
          o += 4;
        }
      }
    }
  }
}

/** dx [n, h, w, c] from dy [n, h/2, w/2, c]: each input of a window gets 0.25 dy (dx is overwritten). */
export function avgPool2Grad(dy: usize, n: i32, h: i32, w: i32, c: i32, dx: usize): void {
  const oh = h >> 1, ow = w >> 1;
  if (oh * 2 != h || ow * 2 != w) memory.fill(dx, 0, <usize>(n * h * w * c) << 2); // odd sizes: the last row/column gets 0
  const q = f32x4.splat(0.25);
  const rowStride = <usize>(w * c) << 2;
  const c4 = <usize>c << 2;
  let g = dy;
  for (let s = 0; s < n; s++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        const p00 = dx + (<usize>(((s * h + 2 * y) * w + 2 * xx) * c) << 2);
        const p10 = p00 + rowStride;
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          const b = <usize>k << 2;
          const v = f32x4.mul(v128.load(g), q);
          v128.store(p00 + b, v);
          v128.store(p00 + c4 + b, v);
          v128.store(p10 + b, v);
          v128.store(p10 + c4 + b, v);
          g += 16;
        }
        for (; k < c; k++) {
          const b = <usize>k << 2;
          const v = load<f32>(g) * 0.25;
          store<f32>(p00 + b, v);
          store<f32>(p00 + c4 + b, v);
          store<f32>(p10 + b, v);
          store<f32>(p10 + c4 + b, v);
          g += 4;
        }
      }
    }
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
