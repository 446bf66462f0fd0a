// 2-D convolution, NHWC input, any kernel size, stride and zero padding (no dilation), as im2col +
// GEMM over blocks of output pixels: each block's patch rows are built in a scratch buffer small
// enough to stay in cache, multiplied at once, and dropped. (Whole-batch im2col wrote several MB a
// step and read it back from main memory.)
//
// Geometry (g: the block geometry.as.ts reads, written by conv-geometry.ts):
//   x [n, h, w, c]; filter as the matrix W [K, ld] (K = kh kw c rows in (ky, kx, c) order, one
//   column per output channel, ld >= o a multiple of 4, zero past o); y [P, ld] with
//   P = n oh ow output pixels (s, oy, ox); input pixel (oy sh - pt + ky, ox sw - pl + kx).
//   forward      y[P, ld]  = cols[P, K] W[K, ld]
//   filter grad  dW[K, ld] = cols^T g            (g [P, ld], zero past o)
//   input grad   dx        = col2im(g Wt)        (Wt [o, kPad] = W^T, kPad = K rounded up to 4)
import { gemm, gemmAdd } from './gemm.as';
import { Geometry } from './geometry.as';

// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < len; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function addFloats(dst: usize, src: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/**
 * The patch rows of output pixels p0 .. p0 + rows - 1 into cols [rows, ldk]: row r holds, for each
 * ky, the kw c floats x[s, iy, ix0 .. ix0 + kw - 1, :], zero where the window leaves the image.
 */
function im2colBlock(g: usize, x: usize, p0: i32, rows: i32, cols: usize, ldk: i32): void {
  const G = changetype<Geometry>(g);
  const h = G.h, w = G.w, c = G.c, kh = G.kh, kw = G.kw;
  const sh = G.sh, sw = G.sw, pt = G.pt, pl = G.pl, oh = G.oh, ow = G.ow;
  const seg = kw * c;
  const K = kh * seg;
  // (s, oy, ox) of pixel p0, then stepped along.
  let ox = p0 % ow, oy = (p0 / ow) % oh, s = p0 / (ow * oh);
  let row = cols;
  for (let r = 0; r < rows; r++) {
    const ix0 = ox * sw - pl;
    const iy0 = oy * sh - pt;
    const lo = max(0, -ix0), hi = min(kw, w - ix0); // kx in [lo, hi) lies inside the image
    if (lo == 0 && hi == kw && iy0 >= 0 && iy0 + kh <= h) {
      // The whole window inside the image: kh contiguous runs of seg floats.
      let src = x + (<usize>(((s * h + iy0) * w + ix0) * c) << 2);
      let dst = row;
      for (let ky = 0; ky < kh; ky++) {
        copyFloats(dst, src, seg);
        dst += <usize>seg << 2;
        src += <usize>(w * c) << 2;
      }
    } else {
      for (let ky = 0; ky < kh; ky++) {
        const iy = iy0 + ky;
        const dst = row + (<usize>(ky * seg) << 2);
        if (iy < 0 || iy >= h || lo >= hi) {
          memory.fill(dst, 0, <usize>seg << 2);
          continue;
        }
        if (lo > 0) memory.fill(dst, 0, <usize>(lo * c) << 2);
        copyFloats(dst + (<usize>(lo * c) << 2), x + (<usize>(((s * h + iy) * w + ix0 + lo) * c) << 2), (hi - lo) * c);
        if (hi < kw) memory.fill(dst + (<usize>(hi * c) << 2), 0, <usize>((kw - hi) * c) << 2);
      }
    }
    if (ldk > K) memory.fill(row + (<usize>K << 2), 0, <usize>(ldk - K) << 2);
    row += <usize>ldk << 2;
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0;
        s++;
      }
    }
  }
}

/** The reverse of im2colBlock: adds each patch entry of cols [rows, ldk] into the dx pixel it came from. */
function col2imBlock(g: usize, cols: usize, ldk: i32, p0: i32, rows: i32, dx: usize): void {
  const G = changetype<Geometry>(g);
  const h = G.h, w = G.w, c = G.c, kh = G.kh, kw = G.kw;
  const sh = G.sh, sw = G.sw, pt = G.pt, pl = G.pl, oh = G.oh, ow = G.ow;
  const seg = kw * c;
  for (let r = 0; r < rows; r++) {
    const p = p0 + r;
    const ox = p % ow, t = p / ow;
    const oy = t % oh, s = t / oh;
    const row = cols + (<usize>(r * ldk) << 2);
    const ix0 = ox * sw - pl;
    const lo = max(0, -ix0), hi = min(kw, w - ix0);
    if (lo >= hi) continue;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky;
      if (iy < 0 || iy >= h) continue;
      addFloats(dx + (<usize>(((s * h + iy) * w + ix0 + lo) * c) << 2), row + (<usize>(ky * seg + lo * c) << 2), (hi - lo) * c);
    }
  }
}

/** y[P, ld] = cols(x) W for W [K, ld]; scratch holds BLOCK K floats. */
export function convForward(g: usize, x: usize, wt: usize, ld: i32, y: usize, scratch: usize): void {
  const G = changetype<Geometry>(g);
  const K = G.kh * G.kw * G.c;
  const P = G.n * G.oh * G.ow;
  const block = G.block;
  for (let p0 = 0; p0 < P; p0 += block) {
    const rows = min(block, P - p0);
    im2colBlock(g, x, p0, rows, scratch, K);
    gemm(rows, ld, K, scratch, K, 1, wt, ld, y + (<usize>(p0 * ld) << 2), ld);
  }
}

/**
 * dW[K, ld] = cols(x)^T g for g [P, ld]: the blocks' products added in block order. scratch
 * holds BLOCK K floats.
 */
export function convFilterGrad(g: usize, x: usize, dy: usize, ld: i32, dw: usize, scratch: usize): void {
  const G = changetype<Geometry>(g);
  const K = G.kh * G.kw * G.c;
  const P = G.n * G.oh * G.ow;
  const block = G.block;
  memory.fill(dw, 0, <usize>(K * ld) << 2);
  for (let p0 = 0; p0 < P; p0 += block) {
    const rows = min(block, P - p0);
    im2colBlock(g, x, p0, rows, scratch, K);
    // A = cols^T: element (k, p) at scratch + 4 (p K + k).
    gemmAdd(K, ld, rows, scratch, 1, K, dy + (<usize>(p0 * ld) << 2), ld, dw, ld);
  }
}

/**
 * dx[n, h, w, c] = col2im(g Wt) for g [P, ld] and Wt [o, kPad]; scratch holds BLOCK kPad floats.
 */
export function convInputGrad(g: usize, dy: usize, ld: i32, o: i32, wt: usize, kPad: i32, dx: usize, scratch: usize): void {
  const G = changetype<Geometry>(g);
  const P = G.n * G.oh * G.ow;
  const block = G.block;
  memory.fill(dx, 0, <usize>(G.n * G.h * G.w * G.c) << 2);
  for (let p0 = 0; p0 < P; p0 += block) {
    const rows = min(block, P - p0);
    gemm(rows, kPad, o, dy + (<usize>(p0 * ld) << 2), ld, 1, wt, kPad, scratch, kPad);
    col2imBlock(g, scratch, kPad, p0, rows, dx);
  }
}

// ---- direct convolution with one input channel (C1) ------------------------------------------------
// With a single input channel a patch row is as long as the product it feeds (kh kw floats copied
// for kh kw multiply-adds per channel): these read the image rows in place instead. SIMD runs along x: four neighbouring output pixels at once, which reads
// four consecutive input pixels (contiguous, as there is one channel). Requires (w - kw + 1) % 4 == 0.

// @ts-ignore: decorator
@inline function storeLanes(p: usize, v: v128, ld: usize): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  store<f32>(p + ld, f32x4.extract_lane(v, 1));
  store<f32>(p + 2 * ld, f32x4.extract_lane(v, 2));
  store<f32>(p + 3 * ld, f32x4.extract_lane(v, 3));
}

/** Floats per filter tap in conv1Forward's panel: a block's three channels, padded to a vector. */
const PANEL_FLOATS: i32 = 4;

/** The panel conv1Forward needs, in floats per filter tap (its JS side allocates kh kw of these). */
export function conv1PanelFloats(): i32 {
  return PANEL_FLOATS;
}

/**
 * y[p, o] = sum_{ky,kx} x[s, oy+ky, ox+kx] f[ky, kx, o] for p = (s, oy, ox), y row stride ld
 * (columns past o untouched). A block is three channels of two output rows: each filter value
 * loaded feeds both rows, each x load three channels (six sums, as many as stay in registers with
 * their operands); a last block of fewer channels repeats its last one (computed again, stored
 * again to its own column), a last single row is read twice and stored once. The four pixels of a
 * vector go to their four rows of y. Every output's sum runs over (ky, kx) in the same order
 * whichever block computes it. `panel` is scratch for conv1PanelFloats() kh kw floats: the
 * block's filter values at each (ky, kx), packed so that the inner loop reads them at fixed
 * offsets (no address arithmetic per load).
 */
export function conv1Forward(x: usize, n: i32, h: i32, w: i32, f: usize, ldf: i32, kh: i32, kw: i32, o: i32, y: usize, ld: i32, panel: usize): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const ld4 = <usize>ld << 2;
  const outRow = <usize>(ow * ld) << 2; // from an output row of y to the next
  const inRow = <usize>w << 2;
  const taps = kh * kw;
  for (let c = 0; c < o; c += 3) {
    const last = o - 1 - c;
    // panel[t][j] = f[t, c + min(j, last)] for taps t = ky kw + kx, j < 3.
    for (let t = 0; t < taps; t++) {
      for (let j = 0; j < 3; j++) {
        store<f32>(panel + (<usize>(t * PANEL_FLOATS + j) << 2), load<f32>(f + (<usize>(t * ldf + c + min(j, last)) << 2)));
      }
    }
    // Byte offsets of the block's channels from channel c in y's rows.
    const o1 = <usize>min(1, last) << 2, o2 = <usize>min(2, last) << 2;
    for (let s = 0; s < n; s++) {
      for (let oy = 0; oy < oh; oy += 2) {
        const two = oy + 1 < oh;
        const next = two ? inRow : 0; // the second row's input, from the first's
        const row = x + (<usize>((s * h + oy) * w) << 2);
        let out = y + (<usize>(((s * oh + oy) * ow) * ld + c) << 2);
        for (let ox = 0; ox < ow; ox += 4) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
          let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
          let fr = panel;
          for (let ky = 0; ky < kh; ky++) {
            let xr = row + (<usize>(ky * w + ox) << 2);
            const end = xr + (<usize>kw << 2);
            while (xr < end) {
              const xv = v128.load(xr);
              const xw = v128.load(xr + next);
              let fv = v128.load32_splat(fr);
              a0 = f32x4.add(a0, f32x4.mul(xv, fv));
              b0 = f32x4.add(b0, f32x4.mul(xw, fv));
              fv = v128.load32_splat(fr, 4);
              a1 = f32x4.add(a1, f32x4.mul(xv, fv));
              b1 = f32x4.add(b1, f32x4.mul(xw, fv));
              fv = v128.load32_splat(fr, 8);
              a2 = f32x4.add(a2, f32x4.mul(xv, fv));
              b2 = f32x4.add(b2, f32x4.mul(xw, fv));
              xr += 4;
              fr += PANEL_FLOATS << 2;
            }
          }
          storeLanes(out, a0, ld4);
          storeLanes(out + o1, a1, ld4);
          storeLanes(out + o2, a2, ld4);
          if (two) {
            storeLanes(out + outRow, b0, ld4);
            storeLanes(out + outRow + o1, b1, ld4);
            storeLanes(out + outRow + o2, b2, ld4);
          }
          out += 4 * ld4;
        }
      }
    }
  }
}

/** planar[c][p] = nhwc[p, c] for P pixels and o channels (nhwc row stride ld): conv1Filter's layout of dy. */
export function toPlanar(nhwc: usize, P: i32, o: i32, ld: i32, planar: usize): void {
  // nhwc read in address order, each row's o values to their o planes (o write streams).
  const plane = <usize>P << 2;
  let src = nhwc;
  let dst = planar;
  for (let p = 0; p < P; p++) {
    let to = dst;
    for (let c = 0; c < o; c++) {
      store<f32>(to, load<f32>(src + (<usize>c << 2)));
      to += plane;
    }
    src += <usize>ld << 2;
    dst += 4;
  }
}

/**
 * dw[ky, kx, c] = sum over p = (s, oy, ox) of x[s, oy+ky, ox+kx] dy[c][p] (dy planar; dw row
 * stride ldw, columns past o untouched). Two channels at a time (each x load feeds both); for one
 * (channel pair, ky) the taps kx = 0..2 run in one pass and kx = 3, 4 in a second (filterTaps):
 * their sums are independent chains side by side (a single running sum would wait on its own
 * previous add at every pixel), and three taps of two channels are as many as stay in registers.
 * Each sum adds lane by lane over a sample's pixels, each sample's sums are added to the totals in
 * sample order, and the four lanes at the end: the same order whichever pass a tap is in. kw is
 * at most 5; when it is less, the unused sums of a pass still read up to 4 floats past the end of
 * a row, so x needs 4 floats of slack after its end.
 */
export function conv1Filter(x: usize, n: i32, h: i32, w: i32, dy: usize, kh: i32, kw: i32, o: i32, dw: usize, ldw: i32): void {
  const oh = h - kh + 1, ow = w - kw + 1;
  const P = n * oh * ow;
  const step = <usize>ldw << 2;
  // An odd last channel is paired with itself (computed twice, stored twice to its own column).
  for (let c = 0; c < o; c += 2) {
    const c2 = min(c + 1, o - 1);
    const second = <usize>((c2 - c) * P) << 2; // channel c2's plane, from channel c's
    const plane = dy + (<usize>(c * P) << 2);
    for (let ky = 0; ky < kh; ky++) {
      const out = dw + (<usize>(ky * kw * ldw + c) << 2);
      const out2 = dw + (<usize>(ky * kw * ldw + c2) << 2);
      filterTaps(3, 0, x, n, h, w, oh, ow, ky, kw, plane, second, out, out2, step);
      if (kw > 3) filterTaps(2, 3, x, n, h, w, oh, ow, ky, kw, plane, second, out, out2, step);
    }
  }
}

/**
 * conv1Filter's sums for T (2 or 3) taps kx0.. kx0 + T - 1 of one ky and two channels (planes at
 * g0 and g0 + second), stored to out and out2 (columns of dw, row stride `step`) for taps < kw.
 */
// @ts-ignore: decorator
@inline function filterTaps(T: i32, kx0: i32, x: usize, n: i32, h: i32, w: i32, oh: i32, ow: i32, ky: i32, kw: i32,
  g0: usize, second: usize, out: usize, out2: usize, step: usize): void {
  let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0);
  let u0 = f32x4.splat(0), u1 = f32x4.splat(0), u2 = f32x4.splat(0);
  let g = g0;
  const shift = <usize>kx0 << 2;
  for (let s = 0; s < n; s++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
    for (let oy = 0; oy < oh; oy++) {
      let xr = x + (<usize>((s * h + oy + ky) * w) << 2) + shift;
      const end = g + (<usize>ow << 2);
      while (g < end) {
        const gv = v128.load(g);
        const hv = v128.load(g + second);
        let xv = v128.load(xr);
        a0 = f32x4.add(a0, f32x4.mul(xv, gv));
        b0 = f32x4.add(b0, f32x4.mul(xv, hv));
        xv = v128.load(xr, 4);
        a1 = f32x4.add(a1, f32x4.mul(xv, gv));
        b1 = f32x4.add(b1, f32x4.mul(xv, hv));
        if (T == 3) {
          xv = v128.load(xr, 8);
          a2 = f32x4.add(a2, f32x4.mul(xv, gv));
          b2 = f32x4.add(b2, f32x4.mul(xv, hv));
        }
        g += 16;
        xr += 16;
      }
    }
    t0 = f32x4.add(t0, a0);
    t1 = f32x4.add(t1, a1);
    u0 = f32x4.add(u0, b0);
    u1 = f32x4.add(u1, b1);
    if (T == 3) {
      t2 = f32x4.add(t2, a2);
      u2 = f32x4.add(u2, b2);
    }
  }
  if (kx0 < kw) {
    store<f32>(out + <usize>kx0 * step, hsum(t0));
    store<f32>(out2 + <usize>kx0 * step, hsum(u0));
  }
  if (kx0 + 1 < kw) {
    store<f32>(out + <usize>(kx0 + 1) * step, hsum(t1));
    store<f32>(out2 + <usize>(kx0 + 1) * step, hsum(u1));
  }
  if (T == 3 && kx0 + 2 < kw) {
    store<f32>(out + <usize>(kx0 + 2) * step, hsum(t2));
    store<f32>(out2 + <usize>(kx0 + 2) * step, hsum(u2));
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
