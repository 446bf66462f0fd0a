// The dataset: IDX parsing and validation, images kept once as bytes in shared memory, and the
// construction of a network input batch from sample indices. No file system here (see
// mnist-files.ts), so the browser uses the same code.
export const IMAGE_SIDE = 28; // MNIST images are 28x28 bytes, 0 = background
export const INPUT_SIDE = 32; // LeNet-5 reads 32x32: the image centred with a 2-pixel border
export const INPUT_PAD = (INPUT_SIDE - IMAGE_SIDE) / 2;
export const NUM_CLASSES = 10;
export const IDX_IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions
export const IDX_LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension

/** The standard names of the four IDX files (each may also be stored gzipped, name + .gz). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** LeCun et al. 1998: pixel p in 0..255 maps to -0.1 + 1.275 p / 255 (background -0.1, ink 1.175). */
export const PIXEL_VALUE: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let p = 0; p < 256; p++) t[p] = -0.1 + (1.275 * p) / 255;
  return t;
})();
export const BACKGROUND = PIXEL_VALUE[0];

/**
 * One split of a dataset. `images` holds count x 28 x 28 bytes and `labels` count bytes, both
 * over SharedArrayBuffers so that every worker reads them in place.
 */
export interface Dataset {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  /** Where it came from, for messages. */
  readonly source: string;
}

export interface Mnist {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Bytes per element of each IDX type code (0x08 unsigned byte ... 0x0E float64). */
const IDX_ELEMENT_BYTES: Readonly<Record<number, number>> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/**
 * The whole file's length as an IDX header claims it (4 + 4 d header bytes, then the product of
 * the d dimensions times the element size), or null when `head` is not the start of an IDX file.
 * Bounds what a compressed file may expand to before it is read.
 */
export function idxClaimedLength(head: Uint8Array): number | null {
  if (head.byteLength < 4 || head[0] !== 0 || head[1] !== 0 || !(head[2] in IDX_ELEMENT_BYTES)) return null;
  const dims = head[3];
  if (dims < 1 || head.byteLength < 4 + 4 * dims) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let n = IDX_ELEMENT_BYTES[head[2]];
  for (let d = 0; d < dims; d++) n *= view.getUint32(4 + 4 * d);
  return 4 + 4 * dims + n;
}

/** The header's big-endian words, after checking the magic number (the first word). */
function header(bytes: Uint8Array, file: string, magic: number, words: number): DataView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength >= 4 && view.getUint32(0) !== magic) {
    const got = view.getUint32(0);
    const kind = magic === IDX_IMAGES_MAGIC ? 'image' : 'label';
    const hint = got === IDX_LABELS_MAGIC ? ' (this is a label file)' : got === IDX_IMAGES_MAGIC ? ' (this is an image file)' : '';
    throw new Error(`${file}: bad magic number ${got}${hint}; an IDX ${kind} file starts with ${magic}`);
  }
  if (bytes.byteLength < 4 * words) {
    throw new Error(`${file}: only ${bytes.byteLength} bytes, shorter than an IDX header (${4 * words} bytes)`);
  }
  return view;
}

function checkLength(bytes: Uint8Array, file: string, expected: number, what: string): void {
  if (bytes.byteLength < expected) {
    throw new Error(`${file}: truncated: the header promises ${what} (${expected} bytes) but the file has ${bytes.byteLength} bytes`);
  }
  if (bytes.byteLength > expected) {
    throw new Error(`${file}: ${bytes.byteLength - expected} bytes beyond the ${what} its header describes (${expected} bytes)`);
  }
}

/** An IDX3 image file's header, checked: count and image size. */
function imagesHeader(bytes: Uint8Array, file: string): { count: number; rows: number; cols: number } {
  const view = header(bytes, file, IDX_IMAGES_MAGIC, 4);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new Error(`${file}: images are ${rows}x${cols}; LeNet-5 here needs ${IMAGE_SIDE}x${IMAGE_SIDE}`);
  }
  if (count === 0) throw new Error(`${file}: the header says it holds no images`);
  return { count, rows, cols };
}

function labelsHeader(bytes: Uint8Array, file: string): { count: number } {
  const count = header(bytes, file, IDX_LABELS_MAGIC, 2).getUint32(4);
  if (count === 0) throw new Error(`${file}: the header says it holds no labels`);
  return { count };
}

/**
 * Checks the header at the start of an IDX file (its first bytes only) as the parsers will: a
 * compressed file is checked this way before it is decompressed. Other magic numbers pass here;
 * the parser names them.
 */
export function checkIdxHeader(head: Uint8Array, file: string): void {
  const magic = head.byteLength >= 4 ? new DataView(head.buffer, head.byteOffset, 4).getUint32(0) : 0;
  if (magic === IDX_IMAGES_MAGIC) imagesHeader(head, file);
  if (magic === IDX_LABELS_MAGIC) labelsHeader(head, file);
}

/** Parses an IDX3 image file (already decompressed); returns a view of its pixels. */
export function parseIdxImages(bytes: Uint8Array, file: string): { count: number; pixels: Uint8Array } {
  const { count, rows, cols } = imagesHeader(bytes, file);
  checkLength(bytes, file, 16 + count * rows * cols, `${count} images of ${rows}x${cols}`);
  return { count, pixels: bytes.subarray(16) };
}

/** Parses an IDX1 label file (already decompressed); every label must be a class 0..9. */
export function parseIdxLabels(bytes: Uint8Array, file: string): { count: number; labels: Uint8Array } {
  const { count } = labelsHeader(bytes, file);
  checkLength(bytes, file, 8 + count, `${count} labels`);
  const labels = bytes.subarray(8);
  for (let i = 0; i < count; i++) {
    if (labels[i] >= NUM_CLASSES) {
      throw new Error(`${file}: label ${labels[i]} at index ${i} is outside 0..${NUM_CLASSES - 1}`);
    }
  }
  return { count, labels };
}

function shared(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

/** Validates a pair of IDX files and copies them, once, into shared memory. */
export function datasetFromIdx(
  imageBytes: Uint8Array,
  imageFile: string,
  labelBytes: Uint8Array,
  labelFile: string,
): Dataset {
  const img = parseIdxImages(imageBytes, imageFile);
  const lab = parseIdxLabels(labelBytes, labelFile);
  if (img.count !== lab.count) {
    throw new Error(`${imageFile} holds ${img.count} images but ${labelFile} holds ${lab.count} labels; they must match`);
  }
  return { images: shared(img.pixels), labels: shared(lab.labels), count: img.count, source: imageFile };
}

/** Checks a dataset given in memory (the API's `data` option) as the IDX parser checks files. */
export function checkDataset(ds: unknown, name: string): asserts ds is Dataset {
  const d = ds as Partial<Dataset> | null;
  if (typeof d !== 'object' || d === null) throw new TypeError(`${name} must be a dataset { images, labels, count }`);
  if (!Number.isInteger(d.count) || d.count! < 1) throw new TypeError(`${name}.count must be a positive integer, got ${String(d.count)}`);
  const n = d.count!;
  const bytes = n * IMAGE_SIDE * IMAGE_SIDE;
  if (!(d.images instanceof Uint8Array)) throw new TypeError(`${name}.images must be a Uint8Array of count x 28 x 28 = ${bytes} bytes, one a pixel`);
  // Exactly: a set of other-sized images (32x32, say) would otherwise be read as 28x28 ones.
  if (d.images.length !== bytes) {
    const per = d.images.length / n;
    throw new TypeError(
      `${name}.images has ${d.images.length} bytes for ${n} images (${Number.isInteger(per) ? `${per} a sample` : 'not a whole number a sample'}); ` +
        `the models read 28x28 images: give count x 784 = ${bytes} bytes, one a pixel`,
    );
  }
  if (!(d.labels instanceof Uint8Array) || d.labels.length !== n) {
    throw new TypeError(`${name}.labels must be a Uint8Array of count = ${n} labels, got ${d.labels instanceof Uint8Array ? d.labels.length : String(d.labels)}`);
  }
  for (let i = 0; i < n; i++) {
    if (d.labels[i] >= NUM_CLASSES) throw new TypeError(`${name}.labels[${i}] is ${d.labels[i]}, outside 0..${NUM_CLASSES - 1}`);
  }
}

/** The first n samples (no copy: the same shared bytes, a smaller count). */
export function firstSamples(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`limit must be a positive integer, got ${n}`);
  return n >= ds.count ? ds : { ...ds, count: n };
}

/**
 * Writes the network input for the given samples: out[n, 32, 32, 1] (NHWC), each 28x28 image
 * scaled (PIXEL_VALUE) and centred on a -0.1 background. With `resample`, that function draws
 * each image instead (augment.ts: a random affine map per sample).
 */
export function fillInputs(
  ds: Dataset,
  indices: ArrayLike<number>,
  out: Float32Array,
  resample?: (src: Uint8Array, dst: Float32Array, sample: number) => void,
): void {
  const plane = INPUT_SIDE * INPUT_SIDE;
  if (out.length < indices.length * plane) {
    throw new RangeError(`input buffer holds ${out.length} floats; ${indices.length} samples need ${indices.length * plane}`);
  }
  for (let s = 0; s < indices.length; s++) {
    const idx = indices[s];
    if (!(idx >= 0 && idx < ds.count)) throw new RangeError(`sample index ${idx} is outside 0..${ds.count - 1}`);
    const src = ds.images.subarray(idx * IMAGE_SIDE * IMAGE_SIDE, (idx + 1) * IMAGE_SIDE * IMAGE_SIDE);
    const dst = out.subarray(s * plane, (s + 1) * plane);
    if (resample) {
      resample(src, dst, idx);
      continue;
    }
    dst.fill(BACKGROUND);
    for (let y = 0; y < IMAGE_SIDE; y++) {
      const row = (y + INPUT_PAD) * INPUT_SIDE + INPUT_PAD;
      for (let x = 0; x < IMAGE_SIDE; x++) dst[row + x] = PIXEL_VALUE[src[y * IMAGE_SIDE + x]];
    }
  }
}

/** Writes one-hot targets out[n, 10] for the given samples. */
export function fillOneHot(ds: Dataset, indices: ArrayLike<number>, out: Float32Array): void {
  out.fill(0, 0, indices.length * NUM_CLASSES);
  for (let s = 0; s < indices.length; s++) out[s * NUM_CLASSES + ds.labels[indices[s]]] = 1;
}
