// The package as users get it: what `npm pack` ships, what importing the library loads, and its
// published types in a user's strict project under both TypeScript versions a user may have.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
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

// ---- the published types in a user's project ------------------------------------------------

type LockEntry = { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; dev?: boolean; devOptional?: boolean; [k: string]: unknown };

/**
 * A lockfile for a project that depends on the tarball (and @types/node, as a TypeScript user on
 * Node has it): the package's runtime tree and @types/node's, as this repository's lockfile pins
 * them. `npm ci --offline` then installs it from what `npm ci` here put in the npm cache; a plain
 * `npm install` would first ask the registry for full package documents, which that cache lacks.
 */
function consumerLock(tarball: string, deps: Record<string, string>): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: deps },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${tarball}`, dependencies: pkg.dependencies },
  };
  // Node's lookup from `from` up to the top: where the lockfile placed `name` for it.
  const place = (from: string, name: string): string => {
    for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
      const key = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!at) throw new Error(`package-lock.json has no ${name} for ${from}`);
    }
  };
  const todo: [string, string][] = Object.keys({ ...pkg.dependencies, ...deps }).filter((d) => d !== pkg.name).map((d) => ['', d]);
  for (let next = todo.pop(); next; next = todo.pop()) {
    const key = place(...next);
    if (packages[key]) continue;
    const { dev, devOptional, ...entry } = lock.packages[key];
    packages[key] = entry;
    for (const d of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) todo.push([key, d]);
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

// The README's embedding example, run for 200 steps on 2 workers, printing the final test error.
function embeddingExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const code = /## Embedding[^]*?```ts\n([^]*?)```/.exec(readme)?.[1];
  expect(code, 'README.md has a ts block under "## Embedding"').toBeTruthy();
  let program = code!;
  for (const [from, to] of [
    ['workers: 2', 'workers: 2'],
    ['{ epochs: 1, signal: stop.signal }', '{ steps: 200, signal: stop.signal }'],
    ['console.log(ev.reason, ev.testError, ev.weightsSha256)', 'console.log(JSON.stringify({ testError: ev.testError, weightsSha256: ev.weightsSha256 }))'],
  ]) {
    expect(program, `the README's example has ${from}`).toContain(from);
    program = program.replace(from, to);
  }
  return program;
}

// A model file as a TypeScript user writes one: the layer ops and tfjs-core ops from the package.
const MODEL_FILE = `import { conv2d, convParams, defineModel, dense, denseParams, tf, type Conv2dOptions, type Tensor2D } from 'lenet5-parallel';

export default defineModel({
  name: 'ts-cnn',
  image: [28, 28, 1],
  classes: 10,
  params: [...convParams('conv1', 1, 8, 3), ...denseParams('fc1', 14 * 14 * 8, 32), ...denseParams('fc2', 32, 10)],
  forward(p, x) {
    const relu: Conv2dOptions = { activation: 'relu', padding: 'same' };
    const c1 = conv2d(x, p['conv1.weight'], p['conv1.bias'], relu); // [n, 28, 28, 8]
    const s1 = tf.maxPool(c1, 2, 2, 'valid'); //                        [n, 14, 14, 8]
    const flat = tf.reshape(s1, [s1.shape[0], 14 * 14 * 8]);
    const h = tf.relu(tf.add<Tensor2D>(tf.matMul(flat, p['fc1.weight'], false, true), p['fc1.bias'])); // [n, 32]
    return dense(tf.mul(h, tf.scalar(0.5)), p['fc2.weight'], p['fc2.bias']);
  },
  loss: (scores, oneHot, reduction) => {
    const perSample = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(scores)), 1));
    return reduction === 'mean' ? tf.mean(perSample) : perSample;
  },
});
`;

// Mistakes the types must catch (were they `any`, these would pass): each line's error is expected.
const WRONG = [
  ["import { createTrainer, defineModel, tf } from 'lenet5-parallel';", null],
  ["await createTrainer({ model: 'lenet5-softmax', workers: '2' });", 'TS2322'],
  ["export default defineModel({ name: 'm', image: [4, 4, 1], classes: 2, params: [{ name: 'w', shape: [2, 16] }],", null],
  ['  forward: (p, x) => tf.relu(x) });', 'TS2322'],
  ["tf.maxPool(tf.tensor1d([1, 2, 3, 4]), 2, 2, 'valid');", 'TS2345'],
] as const;

const TS = { '7': join(root, 'node_modules', 'typescript7', 'bin', 'tsc'), '5.9': join(root, 'node_modules', 'typescript', 'bin', 'tsc') };

describe('the published types, in a strict project without skipLibCheck', () => {
  let dir = '';
  const tsc = (version: keyof typeof TS, ...args: string[]) => spawnSync(process.execPath, [TS[version], ...args], { cwd: dir, encoding: 'utf8' });

  beforeAll(() => {
    dir = tempDir('consumer');
    const r = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const tarball = (JSON.parse(r.stdout) as { filename: string }[])[0].filename;
    const devDeps = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    const deps = { 'lenet5-parallel': `file:${tarball}`, '@types/node': devDeps['@types/node'] };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true, dependencies: deps }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(consumerLock(tarball, deps)));
    const install = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'embed.ts'), embeddingExample());
    writeFileSync(join(dir, 'src', 'model.ts'), MODEL_FILE);
    writeFileSync(join(dir, 'src', 'wrong.ts'), WRONG.map(([line]) => line).join('\n') + '\n');
    // `types` is what a Node project on TypeScript 7 has to write anyway (its default is []).
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], rootDir: 'src' };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
  });

  // One compiler run each (TypeScript 5.9 is slow to start): the good files and the wrong one
  // in one program, which the other files cannot see into.
  test.each(['7', '5.9'] as const)('TypeScript %s: the README\'s embedding example and a model file type-check, each mistake of a wrong file is caught, no tfjs-core declaration is read', (version) => {
    expect(tsc(version, '--version').stdout).toMatch(new RegExp(`^Version ${version.replace('.', '\\.')}\\.`));
    const r = tsc(version, '-p', '.', '--outDir', `out-${version}`, '--listFiles');
    const lines = r.stdout.split('\n');
    const errors = lines.filter((l) => / error TS\d+/.test(l)).map((l) => /^(.*?)\((\d+),\d+\): error (TS\d+)/.exec(l)?.slice(1));
    const expected = WRONG.map(([, code], i) => code && ['src/wrong.ts', String(i + 1), code]).filter(Boolean);
    expect(errors, r.stdout).toEqual(expected);
    expect(lines.some((f) => f.endsWith('/node_modules/lenet5-parallel/dist/types/src/model-ops.d.ts'))).toBe(true);
    expect(lines.filter((f) => /\/node_modules\/(@tensorflow|@webgpu)\//.test(f))).toEqual([]);
    expect(readdirSync(join(dir, `out-${version}`)).sort()).toEqual(['embed.js', 'model.js', 'wrong.js']);
  });

  test('the example as TypeScript compiled it trains lenet5-softmax for 200 steps on 2 workers, far below chance', () => {
    const out = 'out-7';
    if (!existsSync(join(dir, out, 'embed.js'))) tsc('7', '-p', '.', '--outDir', out);
    const run = spawnSync(process.execPath, [join(out, 'embed.js')], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { testError: number; weightsSha256: string };
    expect(done.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    // Chance is 90%; 200 steps of lenet5-softmax (PyTorch's initialisation) get far below it.
    expect(done.testError).toBeLessThan(0.2);
    // The model file compiles to a module that defineModel accepted.
    const model = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import('./${out}/model.js'); console.log(m.default.name, m.default.checked);`], { cwd: dir, encoding: 'utf8' });
    expect(model.stdout.trim(), model.stderr).toBe('ts-cnn true');
  });
});
