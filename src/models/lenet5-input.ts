// LeNet-5's input (LeCun et al. 1998): a 28x28 MNIST image centred in 32x32 on the background,
// pixel p scaled to -0.1 + 1.275 p / 255 (background -0.1, ink 1.175); and, for training, seeded
// distortions (section III.C: "random planar affine transformations": translations, scaling,
// squeezing and horizontal shearing). A sample's map is drawn from the stream the runtime hands
// prepare() (stream(seed, augment, epoch, sample)), so it does not depend on which worker builds
// the batch: determinism holds with augmentation on.
import type { Augmentation } from '../model.js';
import { resampleRows, type PixelScale } from '../kernels/resample.js';

export const IMAGE_SIDE = 28; // MNIST images are 28x28 bytes, 0 = background
export const INPUT_SIDE = 32; // LeNet-5 reads 32x32: the image centred with a 2-pixel border
export const INPUT_PAD = (INPUT_SIDE - IMAGE_SIDE) / 2;

/** Pixel value p (0..255, or between for a resampled or float image) -> LeNet-5's input, in float64. */
export const pixelValue = (p: number): number => PIXEL_SCALE.offset + (PIXEL_SCALE.scale * p) / PIXEL_SCALE.divisor;
const PIXEL_SCALE: Readonly<PixelScale> = Object.freeze({ offset: -0.1, scale: 1.275, divisor: 255 });

/** pixelValue of each byte, as float32. */
export const PIXEL_VALUE: Float32Array = Float32Array.from({ length: 256 }, (_, p) => pixelValue(p));
export const BACKGROUND = PIXEL_VALUE[0];

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

/** One sample's distortion, from its stream of draws. */
export function distortionFor(o: AugmentOptions, random: () => number): Distortion {
  const sym = (m: number) => (2 * random() - 1) * m;
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
 * background), with the same pixel scaling (pixelValue).
 */
export function distortInto(src: Uint8Array | Float32Array, dst: Float32Array, m: Distortion): void {
  const centre = (IMAGE_SIDE - 1) / 2;
  // Maps without vertical shear (c = 0: every map distortionFor draws) take the same arithmetic in
  // WebAssembly SIMD where the kernels are loaded (resample.as.ts: the same bits); the loop below
  // is the definition, and runs where they are not.
  if (m.c === 0 && resampleRows(src, IMAGE_SIDE, IMAGE_SIDE, dst, INPUT_SIDE, INPUT_SIDE, INPUT_PAD + centre, centre, centre, m, PIXEL_SCALE)) return;
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
      dst[oy * INPUT_SIDE + ox] = pixelValue(p);
    }
  }
}

/**
 * The model's prepare(): image [28, 28, 1] -> input [32, 32, 1], distorted when `augment` is set.
 * Float32 images hold pixel values on the same 0..255 scale (a byte p gives the same input).
 */
export function lenet5Input(image: Uint8Array | Float32Array, out: Float32Array, augment: Augmentation | null): void {
  if (augment) return distortInto(image, out, distortionFor(augment.ranges as unknown as AugmentOptions, augment.random));
  out.fill(BACKGROUND, 0, INPUT_SIDE * INPUT_SIDE);
  const bytes = image instanceof Uint8Array;
  for (let y = 0; y < IMAGE_SIDE; y++) {
    const row = (y + INPUT_PAD) * INPUT_SIDE + INPUT_PAD;
    for (let x = 0; x < IMAGE_SIDE; x++) {
      const p = image[y * IMAGE_SIDE + x];
      out[row + x] = bytes ? PIXEL_VALUE[p] : pixelValue(p);
    }
  }
}

/** The ranges as a model definition declares them: defaults and the largest value each may take. */
export const AUGMENT_RANGES = {
  maxShift: { default: DEFAULT_AUGMENT.maxShift, max: 8 },
  maxScale: { default: DEFAULT_AUGMENT.maxScale, max: 0.5 },
  maxSqueeze: { default: DEFAULT_AUGMENT.maxSqueeze, max: 0.5 },
  maxShear: { default: DEFAULT_AUGMENT.maxShear, max: 1 },
} as const;
