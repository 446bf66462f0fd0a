// The package as users get it: what `npm pack` ships, and what importing the library loads.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { packageRoot } from '../src/paths.js';
import { tempDir } from './helpers/tmp.js';

const root = packageRoot();
const CLI_ONLY = ['commander', 'cli-progress', 'vega', 'vega-lite', 'pngjs'];

/** The bare package names a fresh Node resolves while importing `entry` (recorded by a resolve hook). */
function packagesLoadedBy(entry: string): string[] {
  const dir = tempDir('imports');
  const log = join(dir, 'resolved.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (!/^(node:|[./]|file:)/.test(specifier)) appendFileSync(${JSON.stringify(log)}, specifier + '\\n');
  return next(specifier, context);
}
`);
  writeFileSync(log, '');
  const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(entry).href)});`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2) : s.split('/').slice(0, 1)).join('/')))];
}

describe('the library entry', () => {
  test('loads none of the command line\'s dependencies; lenet5-parallel/cli does', () => {
    const library = packagesLoadedBy(join(root, 'dist', 'index.js'));
    expect(library).toContain('piscina'); // the hook sees the library's own imports
    for (const p of CLI_ONLY) expect(library, `importing lenet5-parallel loads ${p}`).not.toContain(p);
    const cli = packagesLoadedBy(join(root, 'dist', 'cli', 'main.js'));
    expect(cli).toContain('commander');
  });
});

describe('npm pack', () => {
  // --ignore-scripts: packing must not rebuild dist/ under the other test files' feet.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  const pack = () => JSON.parse(r.stdout)[0] as { unpackedSize: number; files: { path: string; size: number }[] };

  test('ships the bundles, types, README and LICENSE, without source maps or the demo', () => {
    expect(r.status, r.stderr).toBe(0);
    const paths = pack().files.map((f) => f.path);
    for (const p of ['dist/index.js', 'dist/cli.js', 'dist/cli/main.js', 'dist/workers/piscina-worker.js', 'dist/types/src/index.d.ts', 'README.md', 'LICENSE', 'package.json']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('dist/demo/'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('src/') || p.startsWith('test/'))).toEqual([]);
  });

  test('stays within its size budget: 3 MB unpacked', () => {
    expect(pack().unpackedSize).toBeLessThan(3 * 2 ** 20);
  });
});
