// Bilinear resampling through an affine map without vertical shear (resample.as.ts), for image
// preparation (models/lenet5-input.ts distorts its training images with it). Not a tfjs kernel:
// it reads and writes plain arrays. The zero-bordered float64 copy of the image and the output
// share one block of the wasm memory, kept for the thread.
import { allocBlock, f32, f64, freeBlock } from './heap.js';
import { kernels, wasmReady } from './wasm.js';

/** Output pixel (ox, oy) reads the source at x = a (ox - u0) + ((b (oy - u0) + tx) + cx), y = (d (oy - u0) + ty) + cy. */
export interface RowMap {
  a: number;
  b: number;
  d: number;
  tx: number;
  ty: number;
}

/** offset + (scale p) / divisor is written for a resampled pixel value p (0 outside the image). */
export interface PixelScale {
  offset: number;
  scale: number;
  divisor: number;
}

let block = -1;
let blockBytes = 0;
let bordered = ''; // the image size whose zero border the block holds

/**
 * Resamples the w x h image `src` (values, row-major) into dst [oh, ow] in WebAssembly; returns
 * false, doing nothing, where the kernels are not loaded in this thread (the caller's JS loop runs).
 */
export function resampleRows(src: Uint8Array | Float32Array, w: number, h: number, dst: Float32Array, ow: number, oh: number, u0: number, cx: number, cy: number, m: Readonly<RowMap>, px: Readonly<PixelScale>): boolean {
  if (!wasmReady()) return false;
  const pw = w + 2;
  const padBytes = 8 * pw * (h + 2);
  const bytes = padBytes + 4 * ow * oh;
  if (bytes > blockBytes) {
    if (block >= 0) freeBlock(block);
    block = allocBlock(Math.ceil(bytes / 4));
    blockBytes = bytes;
    bordered = '';
  }
  const pad = f64(block, padBytes / 8);
  if (bordered !== `${w}x${h}`) {
    pad.fill(0); // the border stays 0 while the size does: only the interior is written below
    bordered = `${w}x${h}`;
  }
  for (let y = 0; y < h; y++) pad.set(src.subarray(y * w, (y + 1) * w), (y + 1) * pw + 1); // values converted exactly
  const out = block + padBytes;
  kernels().resampleRows(block, w, h, out, ow, oh, u0, cx, cy, m.a, m.b, m.d, m.tx, m.ty, px.offset, px.scale, px.divisor);
  dst.set(f32(out, ow * oh));
  return true;
}
