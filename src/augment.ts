// Seeded training distortions (LeCun et al. 1998, section III.C: "random planar affine
// transformations": translations, scaling, squeezing and horizontal shearing). Each sample's map
// is drawn from stream(seed, augment, epoch, sample), so it does not depend on which worker
// builds the batch: determinism holds with augmentation on.
import { IMAGE_SIDE, INPUT_PAD, INPUT_SIDE } from './data.js';
import { Purpose, stream, uniform01 } from './rng.js';

/** Ranges of the random maps; each parameter is drawn uniformly from [-max, +max]. */
export interface AugmentOptions {
  /** Shift in pixels, in x and y independently. */
  maxShift: number;
  /** Relative change of size: scale in [1 - maxScale, 1 + maxScale]. */
  maxScale: number;
  /** Squeeze q: x scaled by (1 + q), y by 1 / (1 + q). */
  maxSqueeze: number;
  /** Horizontal shear: x += shear * y. */
  maxShear: number;
}

export const DEFAULT_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  maxShift: 2,
  maxScale: 0.1,
  maxSqueeze: 0.1,
  maxShear: 0.15,
});

/**
 * An affine map from output pixel (x, y) of the 32x32 input to source position in the 28x28
 * image, both relative to the image centre: src = M dst + t, M = [[a, b], [c, d]].
 */
export interface Distortion {
  a: number;
  b: number;
  c: number;
  d: number;
  tx: number;
  ty: number;
}

export function checkAugmentOptions(o: AugmentOptions, name = 'augment'): void {
  for (const [k, limit] of [
    ['maxShift', 8],
    ['maxScale', 0.5],
    ['maxSqueeze', 0.5],
    ['maxShear', 1],
  ] as const) {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= 0 && v <= limit)) {
      throw new TypeError(`${name}.${k} must be a number in [0, ${limit}], got ${String(v)}`);
    }
  }
}

/** The distortion of one sample in one epoch. */
export function distortionFor(o: AugmentOptions, seed: number, epoch: number, sample: number): Distortion {
  const rng = stream(seed, Purpose.augment, epoch, sample);
  const sym = (m: number) => (2 * uniform01(rng) - 1) * m;
  const scale = 1 + sym(o.maxScale);
  const q = 1 + sym(o.maxSqueeze);
  const shear = sym(o.maxShear);
  const tx = sym(o.maxShift);
  const ty = sym(o.maxShift);
  // The forward map (what the digit undergoes) is diag(scale*q, scale/q) * [[1, shear], [0, 1]];
  // resampling needs its inverse.
  const sx = scale * q;
  const sy = scale / q;
  return { a: 1 / sx, b: -shear / sy, c: 0, d: 1 / sy, tx: -tx, ty: -ty };
}

/**
 * Resamples a 28x28 byte image through `m` into dst[32 * 32] (bilinear; outside the image is
 * background), with the same pixel scaling as data.ts: -0.1 + 1.275 p / 255.
 */
export function distortInto(src: Uint8Array, dst: Float32Array, m: Distortion): void {
  const centre = (IMAGE_SIDE - 1) / 2;
  const last = IMAGE_SIDE - 1;
  for (let oy = 0; oy < INPUT_SIDE; oy++) {
    const v = oy - INPUT_PAD - centre;
    const rowX = m.b * v + m.tx + centre;
    const rowY = m.d * v + m.ty + centre;
    for (let ox = 0; ox < INPUT_SIDE; ox++) {
      const u = ox - INPUT_PAD - centre;
      const sx = m.a * u + rowX;
      const sy = m.c * u + rowY;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      let p = 0;
      if (x0 >= -1 && y0 >= -1 && x0 <= last && y0 <= last) {
        const fx = sx - x0;
        const fy = sy - y0;
        const i = y0 * IMAGE_SIDE + x0;
        const left = x0 >= 0;
        const right = x0 < last;
        const top = y0 >= 0;
        const bottom = y0 < last;
        const p00 = top && left ? src[i] : 0;
        const p01 = top && right ? src[i + 1] : 0;
        const p10 = bottom && left ? src[i + IMAGE_SIDE] : 0;
        const p11 = bottom && right ? src[i + IMAGE_SIDE + 1] : 0;
        p = (1 - fy) * ((1 - fx) * p00 + fx * p01) + fy * ((1 - fx) * p10 + fx * p11);
      }
      dst[oy * INPUT_SIDE + ox] = -0.1 + (1.275 * p) / 255;
    }
  }
}
