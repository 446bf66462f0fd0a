// 2x2 average pooling and its gradient in WebAssembly (the JS side: pool.ts).

import { Geometry } from './geometry.as';

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
        if (k + 2 <= c) {
          const b = <usize>k << 2;
          const v = f32x4.mul(v128.load64_zero(g), q);
          v128.store64_lane(p00 + b, v, 0);
          v128.store64_lane(p00 + c4 + b, v, 0);
          v128.store64_lane(p10 + b, v, 0);
          v128.store64_lane(p10 + c4 + b, v, 0);
          g += 8;
          k += 2;
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

// ---- max pooling, any window, stride and padding, NHWC -------------------------------------------
// Geometry g: the block geometry.as.ts reads (pool.ts writes it; kh, kw the window). A window's
// maximum is taken as tfjs's kernel takes it: positions in row-major order from -Infinity, a value
// replacing the maximum only when greater (so NaN never wins and the first of equal values does).


/** out [n, oh, ow, c] = the maximum of each window (four channels at a time). */
export function maxPool(g: usize, x: usize, out: usize): void {
  const G = changetype<Geometry>(g);
  const n = G.n, h = G.h, w = G.w, c = G.c, fh = G.kh, fw = G.kw;
  const sh = G.sh, sw = G.sw, pt = G.pt, pl = G.pl, oh = G.oh, ow = G.ow;
  const lowest = f32x4.splat(-Infinity);
  let o = out;
  for (let s = 0; s < n; s++)
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(0, oy * sh - pt), y1 = min(h, oy * sh - pt + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(0, ox * sw - pl), x1 = min(w, ox * sw - pl + fw);
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          let m = lowest;
          for (let iy = y0; iy < y1; iy++) {
            let p = x + (<usize>(((s * h + iy) * w + x0) * c + k) << 2);
            for (let ix = x0; ix < x1; ix++) {
              m = f32x4.pmax(m, v128.load(p)); // m < v ? v : m
              p += <usize>c << 2;
            }
          }
          v128.store(o, m);
          o += 16;
        }
        for (; k < c; k++) {
          let m: f32 = -Infinity;
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const v = load<f32>(x + (<usize>(((s * h + iy) * w + ix) * c + k) << 2));
              if (v > m) m = v;
            }
          store<f32>(o, m);
          o += 4;
        }
      }
    }
}

/** dx[at, k] += dy at d, unless no value of the window was a maximum (at = -1: all NaN). */
// @ts-ignore: decorator
@inline function addAt(dx: usize, at: i32, c: i32, k: i32, d: usize): void {
  if (at < 0) return;
  const p = dx + (<usize>(at * c + k) << 2);
  store<f32>(p, load<f32>(p) + load<f32>(d));
}

/** dx [n, h, w, c] (overwritten): each window's dy added at the position of its maximum. */
export function maxPoolGrad(g: usize, x: usize, dy: usize, dx: usize): void {
  const G = changetype<Geometry>(g);
  const n = G.n, h = G.h, w = G.w, c = G.c, fh = G.kh, fw = G.kw;
  const sh = G.sh, sw = G.sw, pt = G.pt, pl = G.pl, oh = G.oh, ow = G.ow;
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  let d = dy;
  for (let s = 0; s < n; s++)
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(0, oy * sh - pt), y1 = min(h, oy * sh - pt + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(0, ox * sw - pl), x1 = min(w, ox * sw - pl + fw);
        let k = 0;
        // Four channels at a time: each lane keeps its own maximum and where it is, taking a
        // value only when strictly greater (as the scalar loop below: the first maximum wins).
        for (; k + 4 <= c; k += 4) {
          let m = f32x4.splat(-Infinity);
          let at = i32x4.splat(-1);
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const pixel = (s * h + iy) * w + ix;
              const v = v128.load(x + (<usize>(pixel * c + k) << 2));
              const gt = f32x4.gt(v, m);
              m = v128.bitselect(v, m, gt);
              at = v128.bitselect(i32x4.splat(pixel), at, gt);
            }
          addAt(dx, i32x4.extract_lane(at, 0), c, k, d);
          addAt(dx, i32x4.extract_lane(at, 1), c, k + 1, d + 4);
          addAt(dx, i32x4.extract_lane(at, 2), c, k + 2, d + 8);
          addAt(dx, i32x4.extract_lane(at, 3), c, k + 3, d + 12);
          d += 16;
        }
        for (; k < c; k++) {
          let m: f32 = -Infinity;
          let at = -1; // the pixel (s h + iy) w + ix of the maximum
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const pixel = (s * h + iy) * w + ix;
              const v = load<f32>(x + (<usize>(pixel * c + k) << 2));
              if (v > m) {
                m = v;
                at = pixel;
              }
            }
          addAt(dx, at, c, k, d);
          d += 4;
        }
      }
    }
}

// ---- average pooling, any window and stride, 'valid' padding, NHWC -------------------------------
// As tfjs's kernels: the forward sums a window in float64 in row-major order and divides by its
// size; the gradient gives each input the float64 sum of the dy of the windows that hold it, times
// 1 / window size, so both round once, as the stock kernels do.

/** out [n, oh, ow, c] = the mean of each window (same geometry block as maxPool; no padding). */
export function avgPool(g: usize, x: usize, out: usize): void {
  const G = changetype<Geometry>(g);
  const n = G.n, h = G.h, w = G.w, c = G.c, fh = G.kh, fw = G.kw;
  const sh = G.sh, sw = G.sw, oh = G.oh, ow = G.ow;
  const size = <f64>(fh * fw);
  let o = out;
  for (let s = 0; s < n; s++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let k = 0; k < c; k++) {
          let sum: f64 = 0;
          for (let iy = oy * sh; iy < oy * sh + fh; iy++) {
            let p = x + (<usize>(((s * h + iy) * w + ox * sw) * c + k) << 2);
            for (let ix = 0; ix < fw; ix++) {
              sum += <f64>load<f32>(p);
              p += <usize>c << 2;
            }
          }
          store<f32>(o, <f32>(sum / size));
          o += 4;
        }
}

/** dx [n, h, w, c] (overwritten) from dy [n, oh, ow, c]: each input's share of every window holding it. */
export function avgPoolGrad(g: usize, dy: usize, dx: usize): void {
  const G = changetype<Geometry>(g);
  const n = G.n, h = G.h, w = G.w, c = G.c, fh = G.kh, fw = G.kw;
  const sh = G.sh, sw = G.sw, oh = G.oh, ow = G.ow;
  const share = 1 / <f64>(fh * fw);
  let d = dx;
  for (let s = 0; s < n; s++)
    for (let iy = 0; iy < h; iy++) {
      // Windows oy with oy sh <= iy < oy sh + fh, and likewise for x.
      const y0 = max(0, (iy - fh + sh) / sh), y1 = min(oh - 1, iy / sh);
      for (let ix = 0; ix < w; ix++) {
        const x0 = max(0, (ix - fw + sw) / sw), x1 = min(ow - 1, ix / sw);
        for (let k = 0; k < c; k++) {
          let sum: f64 = 0;
          for (let oy = y0; oy <= y1; oy++)
            for (let ox = x0; ox <= x1; ox++) sum += <f64>load<f32>(dy + (<usize>(((s * oh + oy) * ow + ox) * c + k) << 2));
          store<f32>(d, <f32>(sum * share));
          d += 4;
        }
      }
    }
}
