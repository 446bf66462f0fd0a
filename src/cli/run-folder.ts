// A run folder (runs/<model>-<date>-<time> or --out): the checkpoint, metrics.jsonl, training.svg.
// One run at a time owns it (a lock file holding the owner's pid; a lock whose process is gone
// is stale and taken over), and its metrics.jsonl always describes one run: a fresh run refuses a
// folder that already holds one, and a resumed run first drops the records past its checkpoint's
// step (a run killed after its last save wrote steps that the resumed run will write again).
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { saveFiles } from '../files.js';

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
  /** Appends one JSON record (a line) to metrics.jsonl. */
  record(line: string): void;
  /** Flushes metrics.jsonl and gives the folder up. */
  close(): Promise<void>;
}

/** Takes the folder's lock, or says which process holds it. */
function lock(dir: string): () => void {
  const path = join(dir, LOCK);
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      const release = () => rmSync(path, { force: true });
      process.once('exit', release); // also when a second Ctrl-C quits at once
      return () => {
        process.off('exit', release);
        release();
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
        throw new Error(`run folder ${dir} is in use by another run (process ${pid}); wait for it to end or give another --out`);
      }
      rmSync(path, { force: true }); // stale: its process is gone (killed, or the machine restarted)
    }
  }
  throw new Error(`cannot lock run folder ${dir}`);
}

/** The records of steps 1..step (and epochs within them), without any `done` or torn line. */
function recordsUpTo(text: string, step: number): { type: string; step: number }[] {
  const keep: { type: string; step: number }[] = [];
  for (const line of text.split('\n')) {
    let rec: { type: string; step: number };
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // the torn last line of a killed run, or an empty one
    }
    if ((rec.type === 'step' || rec.type === 'epoch') && typeof rec.step === 'number' && rec.step <= step) keep.push(rec);
  }
  return keep;
}

/**
 * Opens `dir` for a run that starts at `step` (0: fresh). A fresh run needs a folder without
 * metrics; a resumed one keeps the records up to its step. Throws one line when it cannot.
 */
export async function openRunFolder(dir: string, step: number): Promise<RunFolder> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot make the run folder ${dir}: ${(e as Error).message}`);
  }
  const release = lock(dir);
  try {
    const metrics = join(dir, METRICS);
    let earlier: { type: string; step: number }[] = [];
    if (existsSync(metrics)) {
      const text = readFileSync(metrics, 'utf8');
      if (step === 0 && text.trim() !== '') {
        throw new Error(`run folder ${dir} already holds a run (${METRICS}); resume it with --init ${join(dir, 'model.safetensors')}, or give another --out`);
      }
      earlier = recordsUpTo(text, step);
      saveFiles([{ path: metrics, bytes: new TextEncoder().encode(earlier.map((r) => `${JSON.stringify(r)}\n`).join('')) }]);
    }
    const stream: WriteStream = createWriteStream(metrics, { flags: 'a' });
    await new Promise<void>((ready, failed) => stream.once('open', () => ready()).once('error', failed));
    stream.on('error', (e) => process.stderr.write(`lenet5: warning: ${metrics}: ${e.message}\n`));
    return {
      dir,
      earlier,
      record: (line) => void stream.write(`${line}\n`),
      close: async () => {
        await new Promise<void>((done) => stream.end(done));
        release();
      },
    };
  } catch (e) {
    release();
    throw new Error(`${(e as Error).message.startsWith('run folder') ? '' : `cannot write the run folder ${dir}: `}${(e as Error).message}`, { cause: e });
  }
}
