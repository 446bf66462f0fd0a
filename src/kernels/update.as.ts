// The coordinator's update in WebAssembly: averaging the S gradient slots and the SGD step. Float64
// arithmetic with float32 storage, operation for operation as src/optimizer.ts writes it in JS (the
// reference), so both give the same bits (test/engine.test.ts checks); two entries at a time, each
// in its own SIMD lane. Plain JS on the shared-memory arrays cost ~0.6 ms a step, serial between
// the workers' parallel work.

// @ts-ignore: decorator
@inline function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

// @ts-ignore: decorator
@inline function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/**
 * g[i] = ((0 + c_0 s_0[i]) + c_1 s_1[i]) + ... over the S slots (slot k at slots + k n floats,
 * coefficients c: S doubles), rounded to float32 once. Returns 0 if any g[i] is NaN or infinite.
 */
export function averageSlots(slots: usize, S: i32, c: usize, n: i32, g: usize): i32 {
  const stride = <usize>n << 2;
  let bad = f64x2.splat(0); // stays 0 while every acc - acc is 0 (finite)
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    let acc = f64x2.splat(0);
    let p = slots + (<usize>i << 2);
    for (let k = 0; k < S; k++) {
      acc = f64x2.add(acc, f64x2.mul(v128.load64_splat(c + (<usize>k << 3)), load2(p)));
      p += stride;
    }
    store2(g + (<usize>i << 2), acc);
    bad = v128.or(bad, f64x2.ne(f64x2.sub(acc, acc), f64x2.splat(0)));
  }
  let finite = !v128.any_true(bad);
  for (; i < n; i++) {
    let acc: f64 = 0;
    for (let k = 0; k < S; k++) acc += load<f64>(c + (<usize>k << 3)) * <f64>load<f32>(slots + <usize>k * stride + (<usize>i << 2));
    store<f32>(g + (<usize>i << 2), <f32>acc);
    if (acc - acc != 0) finite = false;
  }
  return finite ? 1 : 0;
}

/** SGD with momentum over n floats: v = mu v + g, then w = w - lr v (v read back as float32). */
export function sgdStep(g: usize, v: usize, w: usize, n: i32, lr: f64, mu: f64): void {
  const lr2 = f64x2.splat(lr), mu2 = f64x2.splat(mu);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    const vi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(mu2, load2(v + o)), load2(g + o)));
    v128.store64_lane(v + o, vi, 0);
    store2(w + o, f64x2.sub(load2(w + o), f64x2.mul(lr2, f64x2.promote_low_f32x4(vi))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const vi = <f32>(mu * <f64>load<f32>(v + o) + <f64>load<f32>(g + o));
    store<f32>(v + o, vi);
    store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - lr * <f64>vi));
  }
}
