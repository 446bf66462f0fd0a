// Bilinear resampling through an affine map without vertical shear (resample.as.ts), for image
// preparation (models/lenet5-input.ts distorts its training images with it). Not a tfjs kernel:
// it reads and writes plain arrays. The zero-bordered float64 copy of the image and the output
// share one block of the wasm memory, kept for the thread.
import { allocBlock, f32, freeBlock, u8 } from './heap.js';
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

/**
 * Resamples the w x h image `src` (values, row-major) into dst [oh, ow] in WebAssembly; returns
 * false, doing nothing, where the kernels are not loaded in this thread (the caller's JS loop runs).
 */
export function resampleRows(src: Uint8Array | Float32Array, w: number, h: number, dst: Float32Array, ow: number, oh: number, u0: number, cx: number, cy: number, m: Readonly<RowMap>, px: Readonly<PixelScale>): boolean {
  if (!wasmReady()) return false;
  // The block: the bordered float64 image [h + 2, w + 2], the output [oh, ow], the image as given.
  const padBytes = 8 * (w + 2) * (h + 2);
  const outBytes = 4 * ow * oh;
  const bytes = padBytes + outBytes + 4 * w * h;
  if (bytes > blockBytes) {
    if (block >= 0) freeBlock(block);
    block = allocBlock(Math.ceil(bytes / 4));
    blockBytes = bytes;
  }
  const out = block + padBytes;
  const image = out + outBytes;
  // A copy between arrays of one type (no conversion per value); the kernel widens it.
  if (src instanceof Uint8Array) u8(image, w * h).set(src.subarray(0, w * h));
  else f32(image, w * h).set(src.subarray(0, w * h));
  const k = kernels();
  k.borderImage(image, src instanceof Uint8Array ? 1 : 0, w, h, block);
  k.resampleRows(block, w, h, out, ow, oh, u0, cx, cy, m.a, m.b, m.d, m.tx, m.ty, px.offset, px.scale, px.divisor);
  dst.set(f32(out, ow * oh));
  return true;
}
