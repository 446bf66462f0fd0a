// The dataset: IDX parsing and validation, images kept once in shared memory (bytes, or float32
// values given in memory), and the one-hot targets of a batch. Images of any shape [H, W, C]
// (from the IDX header, or given with an in-memory set); labels are bytes, checked against the
// model's class count where the model is known (coordinator.ts). No file system here (see mnist-files.ts), so the browser uses the same code.
import type { ImageShape } from './model.js';
export const IDX_IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions (n, rows, columns)
export const IDX_IMAGES4_MAGIC = 2052; // 0x00000804: unsigned bytes, 4 dimensions (n, rows, columns, channels)
export const IDX_LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension

/** The standard names of the four IDX files (each may also be stored gzipped, name + .gz). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * One split of a dataset. `images` holds count x H x W x C values (NHWC), bytes or float32, and
 * `labels` count bytes, both best over SharedArrayBuffers so that every worker reads them in
 * place (createDataset copies them there).
 */
export interface Dataset {
  readonly images: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
  /** [H, W, C] of one image. */
  readonly shape: ImageShape;
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

/** An IDX image file's header, checked: count and image shape ([rows, cols, 1] for IDX3). */
function imagesHeader(bytes: Uint8Array, file: string): { count: number; shape: ImageShape; headerBytes: number } {
  const four = bytes.byteLength >= 4 && bytes[3] === 4;
  const view = header(bytes, file, four ? IDX_IMAGES4_MAGIC : IDX_IMAGES_MAGIC, four ? 5 : 4);
  const count = view.getUint32(4);
  const shape: ImageShape = [view.getUint32(8), view.getUint32(12), four ? view.getUint32(16) : 1];
  if (shape.some((d) => d < 1 || d > 4096)) throw new Error(`${file}: images are ${shape.join('x')}; each dimension must be 1..4096`);
  if (count === 0) throw new Error(`${file}: the header says it holds no images`);
  return { count, shape, headerBytes: four ? 20 : 16 };
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
  if (magic === IDX_IMAGES_MAGIC || magic === IDX_IMAGES4_MAGIC) imagesHeader(head, file);
  if (magic === IDX_LABELS_MAGIC) labelsHeader(head, file);
}

/** The largest data file read (2 GiB - 1: byte offsets stay 32-bit integers). */
export const MAX_IDX_BYTES = 2 ** 31 - 1;

/**
 * How far a compressed file may expand, from its first decompressed bytes (at least the header):
 * the length its IDX header claims, once the header passes the parsers' checks; null when `head`
 * is not an IDX header (the parser then says what the bytes are). Node's gunzip and the browser's
 * DecompressionStream loaders both stop there, so a zip bomb is refused after its header.
 */
export function idxExpansionLimit(head: Uint8Array, file: string): number | null {
  checkIdxHeader(head, file);
  const claimed = idxClaimedLength(head);
  if (claimed !== null && claimed > MAX_IDX_BYTES) throw new Error(`${file}: its IDX header claims ${claimed} bytes, more than the ${MAX_IDX_BYTES} a data file may hold`);
  return claimed;
}

const shapeText = (s: ImageShape) => (s[2] === 1 ? `${s[0]}x${s[1]}` : `${s[0]}x${s[1]}x${s[2]}`);

/** Parses an IDX3 or IDX4 image file (already decompressed); returns a view of its pixels. */
export function parseIdxImages(bytes: Uint8Array, file: string): { count: number; shape: ImageShape; pixels: Uint8Array } {
  const { count, shape, headerBytes } = imagesHeader(bytes, file);
  checkLength(bytes, file, headerBytes + count * shape[0] * shape[1] * shape[2], `${count} images of ${shapeText(shape)}`);
  return { count, shape, pixels: bytes.subarray(headerBytes) };
}

/** Parses an IDX1 label file (already decompressed); the model's class count is checked later (checkLabels). */
export function parseIdxLabels(bytes: Uint8Array, file: string): { count: number; labels: Uint8Array } {
  const { count } = labelsHeader(bytes, file);
  checkLength(bytes, file, 8 + count, `${count} labels`);
  return { count, labels: bytes.subarray(8) };
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
  return { images: shared(img.pixels), labels: shared(lab.labels), count: img.count, shape: img.shape, source: imageFile };
}

/** Checks a dataset given in memory (the API's `data` option) as the IDX parser checks files. */
export function checkDataset(ds: unknown, name: string): asserts ds is Dataset {
  const d = ds as Partial<Dataset> | null;
  if (typeof d !== 'object' || d === null) throw new TypeError(`${name} must be a dataset { images, labels, count, shape }`);
  if (!Number.isInteger(d.count) || d.count! < 1) throw new TypeError(`${name}.count must be a positive integer, got ${String(d.count)}`);
  const n = d.count!;
  const s = d.shape;
  if (!Array.isArray(s) || s.length !== 3 || !s.every((v) => Number.isInteger(v) && v >= 1 && v <= 4096)) {
    throw new TypeError(`${name}.shape must be one image's [height, width, channels], e.g. [28, 28, 1], got ${JSON.stringify(s)}`);
  }
  const bytes = n * s[0] * s[1] * s[2];
  if (!(d.images instanceof Uint8Array || d.images instanceof Float32Array)) {
    throw new TypeError(`${name}.images must be a Uint8Array (bytes) or Float32Array of count x ${s.join(' x ')} = ${bytes} values`);
  }
  if (d.images.length !== bytes) {
    const per = d.images.length / n;
    throw new TypeError(
      `${name}.images has ${d.images.length} values for ${n} images (${Number.isInteger(per) ? `${per} a sample` : 'not a whole number a sample'}) ` +
        `but ${name}.shape [${s.join(', ')}] says ${s[0] * s[1] * s[2]} a sample: give count x ${s.join(' x ')} = ${bytes} values, or the shape they have`,
    );
  }
  if (d.images instanceof Float32Array) {
    const bad = d.images.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new TypeError(`${name}.images[${bad}] is ${d.images[bad]}; image values must be finite`);
  }
  if (!(d.labels instanceof Uint8Array) || d.labels.length !== n) {
    throw new TypeError(`${name}.labels must be a Uint8Array of count = ${n} labels, got ${d.labels instanceof Uint8Array ? d.labels.length : String(d.labels)}`);
  }
}

/** The dataset fits a model: its image shape, and every label a class 0..classes-1. */
export function checkFits(ds: Dataset, name: string, model: { readonly name: string; readonly image: ImageShape; readonly classes: number }): void {
  if (ds.shape.join(',') !== model.image.join(',')) {
    throw new TypeError(`${name} (${ds.source}) holds ${shapeText(ds.shape)} images but model ${model.name} reads ${shapeText(model.image)}; give data of that shape or another model`);
  }
  for (let i = 0; i < ds.count; i++) {
    if (ds.labels[i] >= model.classes) {
      throw new TypeError(`${name} (${ds.source}): label ${ds.labels[i]} at index ${i} is outside 0..${model.classes - 1}, model ${model.name}'s classes`);
    }
  }
}

/**
 * A dataset from arrays in memory, checked and copied once into shared memory: images as bytes or
 * float32 (count x H x W x C values, NHWC), labels as integers 0..255 (any array of numbers).
 */
export function createDataset(d: {
  readonly images: Uint8Array | Float32Array;
  readonly labels: ArrayLike<number>;
  readonly shape: ImageShape;
  readonly source?: string;
}): Dataset {
  if (typeof d !== 'object' || d === null) throw new TypeError('createDataset: give { images, labels, shape }');
  const labels = d.labels;
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number' || labels.length < 1) {
    throw new TypeError(`createDataset: labels must be an array of integers 0..255, one a sample, got ${String(labels)}`);
  }
  const bytes = new Uint8Array(new SharedArrayBuffer(labels.length));
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new TypeError(`createDataset: labels[${i}] is ${String(v)}; labels must be integers 0..255`);
    bytes[i] = v;
  }
  const ds = { images: d.images, labels: bytes, count: labels.length, shape: d.shape, source: d.source ?? 'memory' };
  checkDataset(ds, 'createDataset');
  const memory = new SharedArrayBuffer(d.images.byteLength);
  const images = d.images instanceof Float32Array ? new Float32Array(memory) : new Uint8Array(memory);
  images.set(d.images);
  return { ...ds, images, shape: [d.shape[0], d.shape[1], d.shape[2]] };
}

/** The first n samples (no copy: the same shared bytes, a smaller count). */
export function firstSamples(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`limit must be a positive integer, got ${n}`);
  return n >= ds.count ? ds : { ...ds, count: n };
}

/** Writes one-hot targets out[n, K] for the given samples. */
export function fillOneHot(ds: Dataset, indices: ArrayLike<number>, out: Float32Array, classes: number): void {
  out.fill(0, 0, indices.length * classes);
  for (let s = 0; s < indices.length; s++) out[s * classes + ds.labels[indices[s]]] = 1;
}
