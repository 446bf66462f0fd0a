// Bilinear resampling of an image through an affine map without vertical shear, in WebAssembly
// SIMD (the JS side: resample.ts), two output pixels at a time in float64: the same IEEE
// operations, in the same order, as the JS loop it replaces (models/lenet5-input.ts), so the
// same bits.
//
// src: the image as float64 with a one-pixel border of zeros, [h + 2, w + 2]. For output pixel
// (ox, oy) of [oh, ow]: u = ox - u0, v = oy - u0, sx = a u + ((b v + tx) + cx), sy = (d v + ty) + cy;
// a position inside the image (floor in -1..w-1, -1..h-1) reads the four neighbours (the border
// reads as 0), anything else is 0; the value written is offset + (scale p) / divisor, as float32.

/**
 * src [h + 2, w + 2] (float64) = the w x h image at img (bytes when `bytes`, else float32) with a
 * one-pixel border of zeros: resampleRows' source. Every value widens exactly.
 */
export function borderImage(img: usize, bytes: bool, w: i32, h: i32, src: usize): void {
  const pw = w + 2;
  memory.fill(src, 0, <usize>pw << 3); // the top border row
  let row = src + (<usize>pw << 3);
  for (let y = 0; y < h; y++) {
    store<f64>(row, 0);
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      store<f64>(row + (<usize>(x + 1) << 3), bytes ? <f64>load<u8>(img + <usize>i) : <f64>load<f32>(img + (<usize>i << 2)));
    }
    store<f64>(row + (<usize>(w + 1) << 3), 0);
    row += <usize>pw << 3;
  }
  memory.fill(row, 0, <usize>pw << 3); // the bottom one
}

export function resampleRows(src: usize, w: i32, h: i32, out: usize, ow: i32, oh: i32, u0: f64, cx: f64, cy: f64,
  a: f64, b: f64, d: f64, tx: f64, ty: f64, offset: f64, scale: f64, divisor: f64): void {
  const pw = w + 2;
  const background = <f32>(offset + (scale * 0) / divisor);
  const off2 = f64x2.splat(offset), scale2 = f64x2.splat(scale), div2 = f64x2.splat(divisor);
  const a2 = f64x2.splat(a), one = f64x2.splat(1), minus1 = f64x2.splat(-1), width = f64x2.splat(<f64>w);
  for (let oy = 0; oy < oh; oy++) {
    const v = <f64>oy - u0;
    const rowX = f64x2.splat(b * v + tx + cx);
    const sy = d * v + ty + cy;
    let o = out + ((<usize>(oy * ow)) << 2);
    if (!(sy >= -1 && sy < <f64>h)) {
      for (let ox = 0; ox < ow; ox++) store<f32>(o + (<usize>ox << 2), background);
      continue;
    }
    const y0 = <i32>(sy + 1) - 1; // floor, as sy >= -1
    const fy = f64x2.splat(sy - <f64>y0);
    const gy = f64x2.sub(one, fy);
    const upper = src + ((<usize>((y0 + 1) * pw + 1)) << 3);
    const lower = upper + ((<usize>pw) << 3);
    let ox = 0;
    for (; ox + 2 <= ow; ox += 2) {
      const u = f64x2.sub(f64x2(<f64>ox, <f64>(ox + 1)), f64x2.splat(u0));
      const sx = f64x2.add(f64x2.mul(a2, u), rowX);
      const inside = v128.and(f64x2.ge(sx, minus1), f64x2.lt(sx, width));
      // Outside lanes read neighbours of column -1 (any valid address) and are masked to 0 after.
      const safe = v128.bitselect(sx, minus1, inside);
      const x0 = f64x2.sub(f64x2.trunc(f64x2.add(safe, one)), one); // floor, as safe >= -1
      const fx = f64x2.sub(safe, x0);
      const gx = f64x2.sub(one, fx);
      const ix = i32x4.trunc_sat_f64x2_s_zero(x0);
      const ia = <usize>i32x4.extract_lane(ix, 0) << 3, ib = <usize>i32x4.extract_lane(ix, 1) << 3;
      // Each pixel's two neighbours in a row are adjacent: one load per pixel and row, then the
      // left neighbours of both pixels in one vector, the right ones in another.
      const ua = v128.load(upper + ia), ub = v128.load(upper + ib);
      const la = v128.load(lower + ia), lb = v128.load(lower + ib);
      const p00 = v128.shuffle<i64>(ua, ub, 0, 2), p01 = v128.shuffle<i64>(ua, ub, 1, 3);
      const p10 = v128.shuffle<i64>(la, lb, 0, 2), p11 = v128.shuffle<i64>(la, lb, 1, 3);
      const top = f64x2.add(f64x2.mul(gx, p00), f64x2.mul(fx, p01));
      const bottom = f64x2.add(f64x2.mul(gx, p10), f64x2.mul(fx, p11));
      const p = v128.and(f64x2.add(f64x2.mul(gy, top), f64x2.mul(fy, bottom)), inside);
      const value = f64x2.add(off2, f64x2.div(f64x2.mul(scale2, p), div2));
      v128.store64_lane(o + (<usize>ox << 2), f32x4.demote_f64x2_zero(value), 0);
    }
    for (; ox < ow; ox++) {
      const sx = a * (<f64>ox - u0) + (b * v + tx + cx);
      let p: f64 = 0;
      if (sx >= -1 && sx < <f64>w) {
        const x0 = <i32>(sx + 1) - 1;
        const fxs = sx - <f64>x0;
        const i = <usize>x0 << 3;
        const fys = sy - <f64>y0;
        p = (1 - fys) * ((1 - fxs) * load<f64>(upper + i) + fxs * load<f64>(upper + i + 8)) +
          fys * ((1 - fxs) * load<f64>(lower + i) + fxs * load<f64>(lower + i + 8));
      }
      store<f32>(o + (<usize>ox << 2), <f32>(offset + (scale * p) / divisor));
    }
  }
}
