// Temporary folders for tests, removed when the test file finishes (whatever its outcome).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

// Registered when a test file first imports this module: runs after that file's own afterAll
// hooks (vitest runs after-hooks last-registered first), so after a browser using a folder closed.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder under the OS temp dir, named `lenet5-<what>-XXXXXX`. */
export function tempDir(what: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lenet5-${what}-`));
  made.push(dir);
  return dir;
}
