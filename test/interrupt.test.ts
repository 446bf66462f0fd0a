// Signals, crashes and run folders, as users meet them: the built `lenet5 train` in a child
// process, stopped by SIGTERM, SIGHUP or SIGKILL, then resumed into the same run folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { readCheckpoint } from '../src/checkpoint.js';
import { claimFolder } from '../src/cli/run-folder.js';
import { tempDir } from './helpers/tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const cwd = tempDir('interrupt');
const BASE = ['train', '--model', 'lenet5-softmax', '--limit', '640', '--steps', '30', '--json']; // 10 steps an epoch
const lenet5 = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

let straight: string | null = null;
/** The weights hash of the same 30 steps run without a stop. */
function straightHash(): string {
  straight ??= jsonLines(lenet5(...BASE, '--out', join(cwd, 'straight')).stdout).at(-1).weightsSha256;
  return straight!;
}

/** Starts `lenet5 args`, sends `signal` once stdout has shown step `at`; resolves with its output and exit. */
function runUntil(args: string[], at: number, signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!sent && stdout.includes(`"type":"step","step":${at},`)) {
      sent = true;
      child.kill(signal);
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig, stdout, stderr })),
  );
}

/** metrics.jsonl of a run folder: every step 1..n exactly once, in order; epochs at their steps. */
function expectConsistentMetrics(dir: string, n: number): void {
  const records = jsonLines(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'));
  expect(records[0]).toMatchObject({ type: 'run', step: 0 }); // each invocation's settings open its records
  for (const [i, r] of records.entries()) if (r.type === 'run' && i > 0) expect(r.step).toBe(records[i - 1].step);
  expect(records.filter((r) => r.type === 'step').map((r) => r.step)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(records.filter((r) => r.type === 'epoch').map((r) => r.step)).toEqual([10, 20, 30]);
  expect(records.filter((r) => r.type === 'done').map((r) => r.step)).toEqual([n]);
  expect(records.at(-1).type).toBe('done');
}

describe.each([
  ['SIGTERM', { code: 143, signal: null }],
  ['SIGHUP', { code: null, signal: 'SIGHUP' }], // after saving, it ends by the hangup itself (129 to a shell)
] as const)('%s', (signal, status) => {
  test('stops after the current step, saves, exits (143, or by the hangup); resuming in the same folder gives the uninterrupted hash', async () => {
    const out = join(cwd, `signal-${signal}`);
    const r = await runUntil([...BASE, '--out', out], 5, signal);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual(status);
    expect(r.stderr).toMatch(new RegExp(`${signal}: stopping after this step to save a checkpoint`));
    const done = jsonLines(r.stdout).at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'aborted' });
    const ckpt = await readCheckpoint(join(out, 'model.safetensors'));
    expect(ckpt.step).toBe(done.step);
    expect(ckpt.momentum).not.toBeNull();
    const resumed = lenet5(...BASE, '--init', join(out, 'model.safetensors'), '--out', out);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1).weightsSha256).toBe(straightHash());
    expectConsistentMetrics(out, 30);
  });
});

test('SIGKILL: resuming from the last periodic checkpoint loses at most the save period or a task of steps, and ends with the uninterrupted hash', async () => {
  const out = join(cwd, 'killed');
  const r = await runUntil([...BASE, '--out', out, '--save-every', '4'], 14, 'SIGKILL');
  expect(r.signal).toBe('SIGKILL');
  const whole = r.stdout.split('\n').filter((l) => l.endsWith('}')); // a kill may tear the last line
  const reached = Math.max(...whole.map((l) => JSON.parse(l).step));
  const ckpt = await readCheckpoint(join(out, 'model.safetensors'));
  expect(reached).toBeGreaterThanOrEqual(14);
  // The steps a SIGKILL cost: the save period (4), or the task of steps (here at most the epoch's
  // 10) whose end a save waits for.
  expect(reached - ckpt.step).toBeLessThanOrEqual(10);
  expect(ckpt.step).toBeGreaterThanOrEqual(10);
  // The killed run's lock is stale (its process is gone): the resumed run takes the folder over.
  const resumed = lenet5(...BASE, '--init', join(out, 'model.safetensors'), '--out', out, '--save-every', '4');
  expect(resumed.status, resumed.stderr).toBe(0);
  expect(jsonLines(resumed.stdout).at(-1).weightsSha256).toBe(straightHash());
  expectConsistentMetrics(out, 30);
});

describe('run folders and save paths', () => {
  test('a folder in use by a running run is refused; a finished run is not overwritten by a fresh one', async () => {
    const out = join(cwd, 'shared-folder');
    const first = spawn(process.execPath, [CLI, ...BASE, '--steps', '100000', '--out', out], { cwd });
    await new Promise<void>((ready) => first.stdout.on('data', (d) => String(d).includes('"type":"step"') && ready()));
    const second = lenet5(...BASE, '--out', out);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^lenet5: run folder ${out} is in use by another run \\(process ${first.pid}\\); wait for it to end or give another --out \\(if no such run is going on, delete \\S+\\.lock\\)\\n$`));
    first.kill('SIGINT');
    expect(await new Promise((resolve) => first.on('exit', resolve))).toBe(130);
    const fresh = lenet5(...BASE, '--out', out);
    expect(fresh.status).toBe(1);
    expect(fresh.stderr).toMatch(/^lenet5: run folder \S+ already holds a run \(metrics.jsonl\); resume it with --init \S+model.safetensors, or give another --out\n$/);
  });

  test.each([
    ['--save under a file', (f: string) => ['--save', join(f, 'model.safetensors')], /^lenet5: cannot write checkpoint \S+: \S+a-file is a file, not a folder\n$/],
    ['--save onto a directory', (_: string, d: string) => ['--save', d], /^lenet5: checkpoint \S+ is a directory; give a file path/],
    ['--out under a file', (f: string) => ['--out', join(f, 'run')], /^lenet5: cannot write checkpoint \S+: \S+a-file is a file, not a folder\n$/],
    ['a directory where the optimizer file goes', (_: string, d: string) => (mkdirSync(join(d, 'm.optim.safetensors')), ['--save', join(d, 'm.safetensors')]), /^lenet5: optimizer file \S+m.optim.safetensors is a directory; give a file path/],
  ])('%s is refused before the first step', (_, args, message) => {
    const file = join(cwd, 'a-file');
    writeFileSync(file, 'x');
    const r = lenet5(...BASE, '--out', join(cwd, `paths-${Math.random()}`), ...args(file, tempDir('a-dir')));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe(''); // not one step
  });

  test('resuming into a folder that holds another run is refused, naming what differs', () => {
    const mine = join(cwd, 'run-a');
    const other = join(cwd, 'run-b');
    expect(lenet5(...BASE, '--steps', '3', '--out', mine).status).toBe(0);
    expect(lenet5(...BASE, '--steps', '3', '--seed', '7', '--out', other).status).toBe(0);
    const r = lenet5(...BASE, '--init', join(other, 'model.safetensors'), '--out', mine);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^lenet5: run folder \S+run-a holds another run \(seed 1, not 7\); give another --out\n$/);
  });

  test('default run folders started in the same second get names of their own', () => {
    const base = join(tempDir('claim'), 'runs', 'lenet5-20261201-120000');
    expect([claimFolder(base), claimFolder(base), claimFolder(base)]).toEqual([base, `${base}-2`, `${base}-3`]);
    expect(readdirSync(join(base, '..')).sort()).toEqual(['lenet5-20261201-120000', 'lenet5-20261201-120000-2', 'lenet5-20261201-120000-3']);
  });

  test('a closed stdout pipe (lenet5 train --json | head -1) stops the run with a checkpoint, exit 141', async () => {
    const out = join(cwd, 'pipe');
    const child = spawn(process.execPath, [CLI, ...BASE, '--steps', '100000', '--out', out], { cwd });
    await new Promise<void>((ready) => child.stdout.once('data', () => ready()));
    child.stdout.destroy(); // the reader is gone: the next writes fail with EPIPE
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(141);
    const ckpt = await readCheckpoint(join(out, 'model.safetensors'));
    expect(ckpt.step).toBeGreaterThanOrEqual(1);
    expect(ckpt.momentum).not.toBeNull();
  });

  // A terminal that goes away (an ssh drop) sends SIGHUP and fails every later write with EIO.
  const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
  test.skipIf(!python)('a closed terminal: the run saves and ends as a hangup (129), with a checkpoint', async () => {
    const out = join(cwd, 'pty');
    // Runs lenet5 train on a pseudo-terminal, closes the terminal after 4 s, reports the exit status.
    const script = [
      'import os, pty, sys, time',
      'pid, fd = pty.fork()',
      'if pid == 0: os.execv(sys.argv[1], sys.argv[1:])',
      'end = time.time() + 4',
      'while time.time() < end:',
      '    try: os.read(fd, 65536)',
      '    except OSError: break',
      'os.close(fd)',
      '_, status = os.waitpid(pid, 0)',
      'print(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))',
    ].join('\n');
    const r = spawnSync(python!, ['-c', script, process.execPath, CLI, ...BASE.filter((a) => a !== '--json'), '--steps', '100000', '--out', out], { cwd, encoding: 'utf8' });
    expect(r.stdout.trim(), r.stderr).toBe('129');
    const ckpt = await readCheckpoint(join(out, 'model.safetensors'));
    expect(ckpt.step).toBeGreaterThanOrEqual(1);
    expect(ckpt.momentum).not.toBeNull();
  });

  test('--save-every takes steps or a time and refuses anything else', () => {
    const r = lenet5(...BASE, '--save-every', '10 minutes');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^error: option '--save-every <when>' argument '10 minutes' is invalid. must be a step count \(500\), a time \(90s, 5m, 1h\), or 0 for epoch ends only./);
    const human = lenet5('train', '--limit', '320', '--steps', '12', '--save-every', '5', '--out', join(cwd, 'every5'));
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/run folder \S+; saving every 5 steps, at each epoch's end and on Ctrl-C/);
    expect(jsonLines(readFileSync(join(cwd, 'every5', 'metrics.jsonl'), 'utf8')).filter((e) => e.type === 'step')).toHaveLength(12);
  });
});
