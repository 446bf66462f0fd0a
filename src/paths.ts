// Files of this package found at run time (Node only). The code runs from src/ under vitest and
// from the dist/ bundles otherwise, so paths are taken from the package root, not from this file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/** The folder holding this package's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'lenet5-parallel') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find lenet5-parallel's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A built file under dist/, with a clear error when the build has not run. */
export function builtFile(relative: string): string {
  const file = join(packageRoot(), 'dist', relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm install runs it)`);
  return file;
}
