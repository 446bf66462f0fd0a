// Builds small IDX files for tests, straight from the format's definition (big-endian header).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from './tmp.js';

export function idxImages(count: number, rows = 28, cols = 28, fill = (i: number) => i % 256, magic = 2051): Uint8Array {
  const out = new Uint8Array(16 + count * rows * cols);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, count);
  v.setUint32(8, rows);
  v.setUint32(12, cols);
  for (let i = 0; i < count * rows * cols; i++) out[16 + i] = fill(i);
  return out;
}

export function idxLabels(labels: number[], magic = 2049): Uint8Array {
  const out = new Uint8Array(8 + labels.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, labels.length);
  out.set(labels, 8);
  return out;
}

/** A folder with the four standard files; `override` replaces any of them (raw bytes). */
export function dataDir(
  override: Partial<Record<'train-images-idx3-ubyte' | 'train-labels-idx1-ubyte' | 't10k-images-idx3-ubyte' | 't10k-labels-idx1-ubyte', Uint8Array>> = {},
  options: { gzip?: boolean; n?: number } = {},
): string {
  const n = options.n ?? 20;
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const files = {
    'train-images-idx3-ubyte': idxImages(n),
    'train-labels-idx1-ubyte': idxLabels(labels),
    't10k-images-idx3-ubyte': idxImages(n),
    't10k-labels-idx1-ubyte': idxLabels(labels),
    ...override,
  };
  const dir = tempDir('data');
  for (const [name, bytes] of Object.entries(files)) {
    if (options.gzip) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  }
  return dir;
}
