// The update in WebAssembly: averaging the S gradient slots, the SGD and Adam steps (each
// worker runs them on its range of the parameters, in place in the parameter store's memory
// where it can: src/kernels/store-kernels.ts). Float64 arithmetic with float32 storage,
// operation for operation as src/optimizer.ts writes it in JS (the reference; f64.sqrt is
// correctly rounded like Math.sqrt), so both give the same bits (test/engine.test.ts and
// test/optimizers.test.ts check); two entries at a time, each in its own SIMD lane (V8's loops
// over shared-memory arrays are several times slower).

// @ts-ignore: decorator
@inline function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

// @ts-ignore: decorator
@inline function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/**
 * g[i] = ((0 + c_0 s_0[i]) + c_1 s_1[i]) + ... over the S slots (slots: S byte pointers as i32,
 * coefficients c: S doubles), rounded to float32 once. Returns 0 if any g[i] is NaN or infinite.
 */
export function averageSlots(slots: usize, S: i32, c: usize, n: i32, g: usize): i32 {
  let bad = f64x2.splat(0); // stays 0 while every acc - acc is 0 (finite)
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    let acc = f64x2.splat(0);
    const o = <usize>i << 2;
    for (let k = 0; k < S; k++) {
      const slot = <usize>load<i32>(slots + (<usize>k << 2));
      acc = f64x2.add(acc, f64x2.mul(v128.load64_splat(c + (<usize>k << 3)), load2(slot + o)));
    }
    store2(g + o, acc);
    bad = v128.or(bad, f64x2.ne(f64x2.sub(acc, acc), f64x2.splat(0)));
  }
  let finite = !v128.any_true(bad);
  for (; i < n; i++) {
    let acc: f64 = 0;
    const o = <usize>i << 2;
    for (let k = 0; k < S; k++) acc += load<f64>(c + (<usize>k << 3)) * <f64>load<f32>(<usize>load<i32>(slots + (<usize>k << 2)) + o);
    store<f32>(g + o, <f32>acc);
    if (acc - acc != 0) finite = false;
  }
  return finite ? 1 : 0;
}

/**
 * SGD with momentum over n floats: g' = g + wd w (only when wd != 0), v' = mu v + g', then
 * w' = w - lr v' (v' read back as float32), written to vOut and wOut (which may be v and w).
 */
export function sgdStep(g: usize, v: usize, w: usize, vOut: usize, wOut: usize, n: i32, lr: f64, mu: f64, wd: f64): void {
  const lr2 = f64x2.splat(lr), mu2 = f64x2.splat(mu), wd2 = f64x2.splat(wd);
  const decay = wd != 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    let gi = load2(g + o);
    if (decay) gi = f64x2.add(gi, f64x2.mul(wd2, load2(w + o)));
    const vi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(mu2, load2(v + o)), gi));
    v128.store64_lane(vOut + o, vi, 0);
    store2(wOut + o, f64x2.sub(load2(w + o), f64x2.mul(lr2, f64x2.promote_low_f32x4(vi))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let gi = <f64>load<f32>(g + o);
    if (decay) gi = gi + wd * <f64>load<f32>(w + o);
    const vi = <f32>(mu * <f64>load<f32>(v + o) + gi);
    store<f32>(vOut + o, vi);
    store<f32>(wOut + o, <f32>(<f64>load<f32>(w + o) - lr * <f64>vi));
  }
}

/**
 * Adam / AdamW over n floats, optimizer.ts updateRange's arithmetic with its per-step scalars:
 * g' = g + l2 w (only when l2 != 0); m = b1 m + c1 g'; v = b2 v + c2 g' g' (both stored as
 * float32 and read back); w = w decay - stepSize m / (sqrt(v) / bc2Sqrt + eps); the new m, v
 * and w go to mOut, vOut and wOut (which may be m, v and w).
 */
export function adamStep(
  g: usize, m: usize, v: usize, w: usize, mOut: usize, vOut: usize, wOut: usize, n: i32,
  l2: f64, decay: f64, b1: f64, c1: f64, b2: f64, c2: f64, stepSize: f64, bc2Sqrt: f64, eps: f64,
): void {
  const L2 = f64x2.splat(l2), D = f64x2.splat(decay), B1 = f64x2.splat(b1), C1 = f64x2.splat(c1);
  const B2 = f64x2.splat(b2), C2 = f64x2.splat(c2), SS = f64x2.splat(stepSize), BC = f64x2.splat(bc2Sqrt), E = f64x2.splat(eps);
  const coupled = l2 != 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    let gi = load2(g + o);
    if (coupled) gi = f64x2.add(gi, f64x2.mul(L2, load2(w + o)));
    const mi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(B1, load2(m + o)), f64x2.mul(C1, gi)));
    const vi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(B2, load2(v + o)), f64x2.mul(f64x2.mul(C2, gi), gi)));
    v128.store64_lane(mOut + o, mi, 0);
    v128.store64_lane(vOut + o, vi, 0);
    const denom = f64x2.add(f64x2.div(f64x2.sqrt(f64x2.promote_low_f32x4(vi)), BC), E);
    const delta = f64x2.div(f64x2.mul(SS, f64x2.promote_low_f32x4(mi)), denom);
    store2(wOut + o, f64x2.sub(f64x2.mul(load2(w + o), D), delta));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let gi = <f64>load<f32>(g + o);
    if (coupled) gi = gi + l2 * <f64>load<f32>(w + o);
    const mi = <f32>(b1 * <f64>load<f32>(m + o) + c1 * gi);
    const vi = <f32>(b2 * <f64>load<f32>(v + o) + c2 * gi * gi);
    store<f32>(mOut + o, mi);
    store<f32>(vOut + o, vi);
    store<f32>(wOut + o, <f32>(<f64>load<f32>(w + o) * decay - (stepSize * <f64>mi) / (sqrt<f64>(<f64>vi) / bc2Sqrt + eps)));
  }
}
