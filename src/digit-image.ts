// Turning an arbitrary picture of a digit into an MNIST-like 28x28 byte image, the way MNIST's
// own digits were made: ink bright on black, the digit's bounding box scaled to fit 20x20 (aspect
// kept), then placed so that its centre of mass sits at the centre of the 28x28 field.
const IMAGE_SIDE = 28; // MNIST's digits: 28x28, the ink inside a centred 20x20 box

const BOX = 20;

/**
 * gray: width x height intensities in 0..255, row-major. Dark ink on a light background is
 * detected (from the border) and inverted. Returns 28 x 28 bytes; all zero if there is no ink.
 */
export function toMnistDigit(gray: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (!(width >= 1 && height >= 1 && gray.length === width * height)) {
    throw new RangeError(`image data has ${gray.length} values; a ${width}x${height} image needs ${width * height}`);
  }
  let border = 0;
  let borderCount = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (y === 0 || x === 0 || y === height - 1 || x === width - 1) {
        border += gray[y * width + x];
        borderCount++;
      }
  const invert = border / borderCount > 127;
  const ink = Float32Array.from({ length: width * height }, (_, i) => (invert ? 255 - gray[i] : gray[i]));
  // Bounding box of pixels clearly above the background.
  const threshold = 32;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x] > threshold) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  const out = new Uint8Array(IMAGE_SIDE * IMAGE_SIDE);
  if (x1 < 0) return out;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  // Area-average resampling of the box into tw x th.
  const small = new Float32Array(tw * th);
  for (let ty = 0; ty < th; ty++)
    for (let tx = 0; tx < tw; tx++) {
      const sx0 = x0 + (tx * bw) / tw, sx1 = x0 + ((tx + 1) * bw) / tw;
      const sy0 = y0 + (ty * bh) / th, sy1 = y0 + ((ty + 1) * bh) / th;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(sy0); y < Math.ceil(sy1); y++)
        for (let x = Math.floor(sx0); x < Math.ceil(sx1); x++) {
          const a = (Math.min(x + 1, sx1) - Math.max(x, sx0)) * (Math.min(y + 1, sy1) - Math.max(y, sy0));
          sum += a * ink[y * width + x];
          area += a;
        }
      small[ty * tw + tx] = area > 0 ? sum / area : 0;
    }
  let mass = 0, cx = 0, cy = 0;
  small.forEach((v, i) => {
    mass += v;
    cx += v * (i % tw);
    cy += v * Math.floor(i / tw);
  });
  const centre = (IMAGE_SIDE - 1) / 2;
  const ox = Math.round(centre - cx / mass);
  const oy = Math.round(centre - cy / mass);
  for (let ty = 0; ty < th; ty++)
    for (let tx = 0; tx < tw; tx++) {
      const x = tx + ox;
      const y = ty + oy;
      if (x >= 0 && y >= 0 && x < IMAGE_SIDE && y < IMAGE_SIDE) out[y * IMAGE_SIDE + x] = Math.min(255, Math.round(small[ty * tw + tx]));
    }
  return out;
}
