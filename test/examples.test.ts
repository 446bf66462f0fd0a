// The examples run as written, through the published entry point ('lenet5-parallel' -> dist/).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const example = (name: string, ...args: string[]) => {
  const cwd = tempDir('example');
  return { cwd, ...spawnSync(process.execPath, [tsx, join(root, 'examples', name), ...args], { cwd, encoding: 'utf8' }) };
};

test('examples/embed.ts trains, reports typed events, saves, and closes its threads', () => {
  const r = example('embed.ts', '20');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^done after 20 steps \(completed\): test error \d+\.\d\d%$/m);
  expect(r.stdout).toMatch(/^weights sha256: [0-9a-f]{64}$/m);
  expect(existsSync(join(r.cwd, 'runs', 'embedded', 'model.safetensors'))).toBe(true);
});

test('examples/train-mnist.ts (npm start) is `lenet5 train` and takes its flags', () => {
  const r = example('train-mnist.ts', '--steps', '3', '--limit', '320', '--out', 'run');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^lenet5 train: lenet5 on 320 samples, \d+ workers/);
  expect(r.stdout).toMatch(/^weights sha256: [0-9a-f]{64}$/m);
  expect(existsSync(join(r.cwd, 'run', 'training.svg'))).toBe(true);
});
