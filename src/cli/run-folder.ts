// A run folder (runs/<model>-<date>-<time> or --out): the checkpoint, metrics.jsonl, training.svg.
// One run at a time owns it (a lock file holding the owner's pid; a lock whose process is gone
// is stale and taken over), and its metrics.jsonl always describes one run: a fresh run refuses a
// folder that already holds one, and a resumed run first drops the records past its checkpoint's
// step (a run killed after its last save wrote steps that the resumed run will write again).
import { createWriteStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeFolder, reason, saveFiles } from '../files.js';

export const METRICS = 'metrics.jsonl';
const LOCK = '.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface RunFolder {
  readonly dir: string;
  /** The records kept from before a resume, parsed, in file order. */
  readonly earlier: readonly { type: string; step: number }[];
  /** Records dropped from metrics.jsonl because they lay past the resumed step. */
  readonly dropped: number;
  /** Appends one JSON record (a line) to metrics.jsonl. */
  record(line: string): void;
  /** The first write error of metrics.jsonl, if any (a full disk): the caller reports it. */
  readonly writeError: () => Error | null;
  /** Flushes metrics.jsonl and gives the folder up. */
  close(): Promise<void>;
}

const pidIn = (path: string) => Number.parseInt(readFileSync(path, 'utf8'), 10);

/**
 * Takes the folder's lock, or says which process holds it. The lock file appears whole (written
 * under another name, then hard-linked: the link fails if a lock exists); a stale one is moved
 * aside under a unique name first, and only if it still names the dead process.
 */
function lock(dir: string): () => void {
  const path = join(dir, LOCK);
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`);
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        try {
          linkSync(mine, path);
        } catch (e) {
          // A file system without hard links: create it in one call instead (briefly empty).
          if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
          writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        }
        const release = () => rmSync(path, { force: true });
        process.once('exit', release); // also when a second Ctrl-C quits at once
        return () => {
          process.off('exit', release);
          release();
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let pid = Number.NaN;
      try {
        pid = pidIn(path);
      } catch {
        continue; // gone meanwhile: try again
      }
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
        throw new Error(`run folder ${dir} is in use by another run (process ${pid}); wait for it to end or give another --out (if no such run is going on, delete ${path})`);
      }
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
        const moved = pidIn(aside);
        if (moved !== pid) renameSync(aside, path); // a live run's fresh lock: put it back
        else rmSync(aside, { force: true });
      } catch {
        /* another process took it over first: try again */
      }
    }
    throw new Error(`cannot lock run folder ${dir}: another run keeps taking it`);
  } finally {
    rmSync(mine, { force: true });
  }
}

/** The records of steps 1..step (and epochs within them), without any `done` or torn line; and how many others there were. */
function recordsUpTo(text: string, step: number): { keep: { type: string; step: number }[]; dropped: number } {
  const keep: { type: string; step: number }[] = [];
  let dropped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let rec: { type: string; step: number };
    try {
      rec = JSON.parse(line);
    } catch {
      dropped++; // the torn last line of a killed run
      continue;
    }
    if ((rec.type === 'step' || rec.type === 'epoch' || rec.type === 'run') && typeof rec.step === 'number' && rec.step <= step) keep.push(rec);
    else if (rec.type !== 'done') dropped++;
  }
  return { keep, dropped };
}

/**
 * A new folder named `base`, or `base-2`, `base-3`, ... when that exists: two runs started in
 * the same second each get their own default run folder.
 */
export function claimFolder(base: string): string {
  makeFolder(dirname(base));
  for (let k = 1; ; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Opens `dir` for a run that starts at `step` (0: fresh). A fresh run needs a folder without
 * metrics; a resumed one keeps the records up to its step. Throws one line when it cannot.
 */
export async function openRunFolder(dir: string, step: number): Promise<RunFolder> {
  let release: (() => void) | null = null;
  try {
    makeFolder(dir);
    release = lock(dir);
    const metrics = join(dir, METRICS);
    let earlier: { type: string; step: number }[] = [];
    let dropped = 0;
    if (existsSync(metrics)) {
      const text = readFileSync(metrics, 'utf8');
      if (step === 0 && text.trim() !== '') {
        throw new Error(`run folder ${dir} already holds a run (${METRICS}); resume it with --init ${join(dir, 'model.safetensors')}, or give another --out`);
      }
      ({ keep: earlier, dropped } = recordsUpTo(text, step));
      saveFiles([{ path: metrics, bytes: new TextEncoder().encode(earlier.map((r) => `${JSON.stringify(r)}\n`).join('')) }]);
    }
    const stream: WriteStream = createWriteStream(metrics, { flags: 'a' });
    await new Promise<void>((ready, failed) => stream.once('open', () => ready()).once('error', failed));
    let writeError: Error | null = null;
    stream.on('error', (e) => {
      if (!writeError) process.stderr.write(`lenet5: warning: cannot write ${metrics}: ${reason(e)}; training goes on\n`);
      writeError ??= new Error(`cannot write ${metrics}: ${reason(e)}`);
    });
    const unlock = release;
    return {
      dir,
      earlier,
      dropped,
      record: (line) => void (writeError || stream.write(`${line}\n`)),
      writeError: () => writeError,
      close: async () => {
        await new Promise<void>((done) => stream.end(done));
        unlock();
      },
    };
  } catch (e) {
    release?.();
    const m = (e as Error).message;
    throw new Error(m.startsWith('run folder') || m.startsWith('cannot lock') ? m : `cannot use the run folder ${dir}: ${reason(e)}; give another --out`, { cause: e });
  }
}
