// The `lenet5` command as users run it: the built dist/cli.js in a child process.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { loadMnist } from '../src/mnist-files.js';
import { readCheckpoint } from '../src/checkpoint.js';
import { tempDir } from './helpers/tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const cwd = tempDir('cli');
const lenet5 = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
const jsonLines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l));

describe('lenet5 train --json', () => {
  test('prints only JSON lines (step, epoch, done), ending with the weights hash; eval agrees', () => {
    const out = join(cwd, 'json-run');
    const r = lenet5('train', '--model', 'lenet5-softmax', '--limit', '640', '--epochs', '2', '--lr', '0.2', '--json', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events.filter((e) => e.type === 'step')).toHaveLength(20);
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2]);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', step: 20, reason: 'completed' });
    expect(done.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    // The run folder: checkpoint pair, metrics (the run's settings and versions, then one record
    // per step and per epoch, and done), a plot.
    const [run, ...metrics] = jsonLines(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
    expect(run).toMatchObject({
      type: 'run', step: 0, package: `lenet5-parallel@${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}`, node: process.version,
      settings: { model: 'lenet5-softmax', limit: 640, epochs: 2, learningRate: 0.2, batchSize: 64, weightInit: 'pytorch', seed: 1 },
    });
    expect(Number.isNaN(Date.parse(run.startedAt))).toBe(false);
    expect(metrics).toEqual(events);
    expect(readFileSync(join(out, 'training.svg'), 'utf8')).toMatch(/^<svg[\s\S]*test error after each epoch[\s\S]*<\/svg>$/);
    expect(existsSync(join(out, 'model.optim.safetensors'))).toBe(true);
    // eval of the saved checkpoint reports the same test error as the end of training.
    const ev = lenet5('eval', join(out, 'model.safetensors'), '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect(jsonLines(ev.stdout)[0]).toMatchObject({ type: 'eval', testError: done.testError, testLoss: done.testLoss, weightsSha256: done.weightsSha256, step: 20 });
  });

  test('--init resumes: 5 steps, then on to 12, equals 12 straight (same hash printed)', () => {
    const base = ['train', '--limit', '640', '--json'];
    const straight = jsonLines(lenet5(...base, '--steps', '12', '--out', join(cwd, 'straight')).stdout).at(-1);
    const half = lenet5(...base, '--steps', '5', '--seed', '1', '--save', join(cwd, 'half.safetensors'), '--out', join(cwd, 'half'));
    expect(half.status, half.stderr).toBe(0);
    const resumed = lenet5('train', '--init', join(cwd, 'half.safetensors'), '--steps', '12', '--json', '--out', join(cwd, 'resumed'));
    expect(resumed.status, resumed.stderr).toBe(0);
    const done = jsonLines(resumed.stdout).at(-1);
    expect(done.step).toBe(12);
    expect(done.weightsSha256).toBe(straight.weightsSha256);
  });
});

describe('human output', () => {
  test('ends with the test error, wall time, checkpoint path and weights hash', () => {
    const r = lenet5('train', '--limit', '320', '--steps', '3', '--out', join(cwd, 'human'));
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-5)).toMatch(/^test error \d+\.\d\d% \([\d,]+ of 10,000\), test loss \d+\.\d{4}$/);
    expect(lines.at(-4)).toMatch(/^wall time \d+s$/);
    expect(lines.at(-3)).toBe(`checkpoint ${join(cwd, 'human', 'model.safetensors')}`);
    expect(lines.at(-1)).toMatch(/^weights sha256: [0-9a-f]{64}$/);
  });

  test('Ctrl-C stops after the current step, saves a loadable checkpoint, exits 130', async () => {
    const out = join(cwd, 'interrupted');
    const child = spawn(process.execPath, [CLI, 'train', '--model', 'lenet5-softmax', '--json', '--out', out], { cwd });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && stdout.includes('"step":3,')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const done = jsonLines(stdout).at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'aborted' });
    const ckpt = await readCheckpoint(join(out, 'model.safetensors'));
    expect(ckpt.step).toBe(done.step);
    expect(ckpt.metadata.weights_sha256).toBe(done.weightsSha256);
  });
});

describe('bad input: non-zero exit, one clear line on stderr, no stack trace', () => {
  const corrupt = join(cwd, 'corrupt.safetensors');
  writeFileSync(corrupt, 'this is not a checkpoint at all');
  test.each([
    [['train', '--data', '/no/such/dir'], /^lenet5: data folder \/no\/such\/dir does not exist/],
    [['eval', corrupt], /^lenet5: .*corrupt.safetensors: not a valid safetensors checkpoint/],
    [['train', '--model', 'lenet7'], /^lenet5: options.model "lenet7" is not a built-in model \(lenet5, lenet5-softmax\); for a model file give its path, e.g. .\/lenet7.js/],
    [['train', '--model-option', 'j'], /^error: option '--model-option <name=value>' argument 'j' is invalid. must be name=number, e.g. j=0.1./],
    [['train', '--batch', '0'], /^error: option '--batch <b>' argument '0' is invalid. must be an integer from 1 to 65536./],
    [['train', '--workers', '0'], /^error: option '--workers <n>' argument '0' is invalid. must be an integer from 1 to 256./],
    [['train', '--shards', '65', '--batch', '64'], /^lenet5: options.shards \(65\) must not exceed options.batchSize \(64\)/],
    [['train', '--bogus'], /^error: unknown option '--bogus'/],
    [['predict', corrupt, join(cwd, 'nope.png')], /^lenet5: image .*nope.png does not exist/],
  ])('lenet5 %j', (args, message) => {
    const r = lenet5(...args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

test('lenet5 predict classifies a PNG of any size and colour', () => {
  const out = join(cwd, 'for-predict');
  const t = lenet5('train', '--limit', '6400', '--epochs', '2', '--lr', '0.003', '--json', '--out', out); // ~11% test error
  expect(t.status, t.stderr).toBe(0);
  // Test image 0 (a 7), drawn 3x larger as dark blue ink on a light yellow page.
  const mnist = loadMnist();
  const png = new PNG({ width: 84, height: 90 });
  for (let y = 0; y < 90; y++)
    for (let x = 0; x < 84; x++) {
      const v = mnist.test.images[Math.min(27, Math.floor(y / 3)) * 28 + Math.floor(x / 3)] / 255;
      const i = 4 * (y * 84 + x);
      png.data.set([Math.round(250 - 230 * v), Math.round(245 - 225 * v), Math.round(210 - 90 * v), 255], i);
    }
  const image = join(cwd, 'seven.png');
  writeFileSync(image, PNG.sync.write(png));
  const r = lenet5('predict', join(out, 'model.safetensors'), image, '--json');
  expect(r.status, r.stderr).toBe(0);
  const p = jsonLines(r.stdout)[0];
  expect(p.digit).toBe(7);
  expect(p.probabilities).toHaveLength(10);
  expect(p.probabilities[7]).toBe(Math.max(...p.probabilities));
  expect(p.probabilities.reduce((a: number, b: number) => a + b, p.none)).toBeCloseTo(1, 9);
  const human = lenet5('predict', join(out, 'model.safetensors'), image);
  // This short run's model is unsure: the paper's posterior may leave most mass to "none of these".
  expect(human.stdout.split('\n')[0]).toMatch(new RegExp(`^${image}: 7( \\(unsure: none of these \\d+\\.\\d\\d%\\))?$`));
  expect(human.stdout).toMatch(/\n {2}none of these +\d+\.\d\d%\n$/);
  // Random noise: far from every digit's centre, so "none of these" takes nearly all the mass.
  const noise = new PNG({ width: 28, height: 28 });
  let seed = 3;
  for (let i = 0; i < 28 * 28; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const v = seed >>> 24;
    noise.data.set([v, v, v, 255], 4 * i);
  }
  writeFileSync(join(cwd, 'noise.png'), PNG.sync.write(noise));
  const n = jsonLines(lenet5('predict', join(out, 'model.safetensors'), join(cwd, 'noise.png'), '--json').stdout)[0];
  expect(n.none).toBeGreaterThan(Math.max(...n.probabilities));
  const noisy = lenet5('predict', join(out, 'model.safetensors'), join(cwd, 'noise.png'));
  expect(noisy.stdout.split('\n')[0]).toMatch(/noise.png: \d \(unsure: none of these (9\d|100)\.\d\d%\)$/);
}, 300_000);

describe('lenet5 bench', () => {
  test('--json: one line per model and worker count, medians inside [min, max]; --profile --json: kernels summing to 100%', () => {
    const r = lenet5('bench', '--models', 'lenet5-softmax', '--workers', '1,2', '--runs', '3', '--steps', '2', '--warmup', '3', '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => [l.model, l.workers, l.batch, l.runs, l.warmup, l.kernels, l.augment])).toEqual([
      ['lenet5-softmax', 1, 64, 3, 3, 'fast', true],
      ['lenet5-softmax', 2, 64, 3, 3, 'fast', true],
    ]);
    for (const l of lines) {
      expect(l.samplesPerSec).toBeGreaterThan(0);
      expect(l.min).toBeLessThanOrEqual(l.samplesPerSec);
      expect(l.samplesPerSec).toBeLessThanOrEqual(l.max);
      // The breakdown: a step holds its slowest task and the update, and the task is real work.
      expect(l.taskMs).toBeGreaterThan(0);
      expect(l.updateMs).toBeGreaterThan(0);
      expect(l.taskMs + l.updateMs).toBeLessThanOrEqual(l.stepMs + 0.02);
    }
    const p = lenet5('bench', '--profile', '--models', 'lenet5', '--batch', '8', '--warmup', '8', '--steps', '3', '--json');
    expect(p.status, p.stderr).toBe(0);
    const [profile] = jsonLines(p.stdout);
    expect(profile).toMatchObject({ type: 'profile', model: 'lenet5', kernels: 'fast', batch: 8 });
    const names = profile.byKernel.map((k: { kernel: string }) => k.kernel);
    expect(names).toEqual(expect.arrayContaining(['LayerConv2D', 'LayerConv2DGrad', 'LayerDense', 'LayerRbf', 'LayerSoftmaxCrossEntropy', 'LayerAvgPool2D']));
    expect(profile.kernelCalls).toBe(profile.byKernel.reduce((a: number, k: { calls: number }) => a + k.calls, 0));
    expect(profile.byKernel.reduce((a: number, k: { share: number }) => a + k.share, 0)).toBeCloseTo(1, 6);
    // Whole gradient tasks by micro-batch size: powers of two up to the batch, each timed.
    expect(profile.bySize.map((b: { samples: number }) => b.samples)).toEqual([1, 2, 4, 8]);
    for (const b of profile.bySize) expect(b.ms).toBeGreaterThan(0);
    expect(profile.fixedMs).toBeCloseTo(2 * profile.bySize[2].ms - profile.bySize[3].ms, 6);
    expect(profile.twoWorkerBound).toBeCloseTo(profile.bySize[3].ms / profile.bySize[2].ms, 6);
  }, 120_000);

  test('--no-augment times training on undistorted images, and says so', () => {
    const r = lenet5('bench', '--model', 'lenet5', '--workers', '1', '--runs', '1', '--steps', '2', '--warmup', '2', '--no-augment', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).map((l) => [l.model, l.workers, l.augment])).toEqual([['lenet5', 1, false]]);
    const human = lenet5('bench', '--model', 'lenet5', '--workers', '1', '--runs', '1', '--steps', '2', '--warmup', '2', '--no-augment');
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^lenet5 bench: batch 64, fast kernels, undistorted images, 1 runs x 2 steps/);
  }, 120_000);

  test('the human-readable form reports the host check and the speed-up', () => {
    const r = lenet5('bench', '--models', 'lenet5-softmax', '--workers', '1,2', '--runs', '1', '--steps', '2', '--warmup', '2');
    expect(r.status, r.stderr).toBe(0);
    const cores = availableParallelism();
    const hostCheck = new RegExp(`host check: ${cores} threads at once each run at \\d+% \\(scalar arithmetic\\), \\d+% \\(SIMD kernels\\) and \\d+% \\(memory reads\\) of one alone`);
    if (cores > 1) expect(r.stdout).toMatch(hostCheck);
    else expect(r.stdout).not.toMatch(/host check/);
    expect(r.stdout).toMatch(/^lenet5 bench: batch 64, fast kernels, distorted images, 1 runs x 2 steps after 2 warm-up steps;/);
    expect(r.stdout).toMatch(/lenet5-softmax: 2 workers are \d+\.\d\dx one worker/);
    expect(r.stdout).toMatch(/ 2 workers: +[\d,]+ samples\/s \[[\d,]+, [\d,]+\]; a step [\d.]+ ms = micro-batches [\d.]+ \+ update [\d.]+ \+ waiting -?[\d.]+/);
  }, 120_000);

  test('--help names each default once, as the user would type it', () => {
    const r = lenet5('bench', '--help');
    expect(r.status, r.stderr).toBe(0);
    // One entry per option, its wrapped description lines joined.
    const entries = r.stdout.split(/\n(?=\s+-)/).map((e) => e.replace(/\s+/g, ' ').trim());
    expect(entries).toContain('--models <list> comma-separated built-in names or model module paths (default: lenet5-softmax,lenet5)');
    for (const e of entries.filter((x) => x.startsWith('--'))) expect(e.match(/default:/g)?.length ?? 0, e).toBeLessThanOrEqual(1);
  });
});
