// Files that must not lie (Node only): reads whose errors name the path, and verified saves.
//
// A save writes every file of a set to a temporary name beside it (every byte counted: writeSync
// may write less than asked on a full disk), fsyncs each, and only then renames them into place
// and fsyncs the folder. Until the first rename nothing the user had is touched, so a full disk,
// a read-only folder or a directory in the way fails the save before it replaces anything.
import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** "no space left on device" rather than "ENOSPC: no space left on device, write". */
export function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && typeof err.syscall === 'string') {
    const text = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
    return `${text} (${err.code})`;
  }
  return String(err?.message ?? err);
}

/** Reads a whole file; a missing file, a directory or a read error is one line naming `what` and the path. */
export function readFileChecked(path: string, what: string): Uint8Array {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path}: ${reason(e)}`, { cause: e });
  }
  if (!isFile) throw new Error(`${what} ${path} is a directory (or another non-file); give the path of a file`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${reason(e)}`, { cause: e });
  }
}

/**
 * mkdir -p that tells the real cause: a recursive mkdir under a read-only or unwritable folder
 * reports ENOENT, so the nearest existing ancestor is asked why it cannot be written.
 */
export function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let up = dir;
    while (statOrNull(up) === null && dirname(up) !== up) up = dirname(up);
    const at = statOrNull(up);
    if (at && !at.isDirectory()) throw Object.assign(new Error(`${up} is a file, not a folder`), { code: 'ENOTDIR', cause: e });
    try {
      accessSync(up, constants.W_OK);
    } catch (why) {
      throw Object.assign(new Error(`cannot write in ${up}: ${reason(why)}`), { cause: e });
    }
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) {
    const n = writeSync(fd, bytes, at, bytes.byteLength - at);
    if (n <= 0) throw Object.assign(new Error('no space left on device: the write stopped short'), { code: 'ENOSPC' });
    at += n;
  }
}

/** Writes `bytes` to `path`'s temporary twin, every byte, then fsync; returns the twin's path. */
function writeTemporary(path: string, bytes: Uint8Array): string {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx');
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    return tmp;
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

function syncFolder(dir: string): void {
  // Makes the renames durable; some file systems refuse fsync on a folder, which costs nothing here.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/**
 * Saves several files as one: all are written and fsynced under temporary names, then renamed in
 * the order given (put the file that names the save last). Any failure before the renames leaves
 * every existing file as it was and throws `cannot save <path>: <reason>`.
 */
export function saveFiles(files: readonly { path: string; bytes: Uint8Array }[]): void {
  const written: { tmp: string; path: string }[] = [];
  let current = files[0]?.path ?? '';
  try {
    for (const f of files) {
      current = f.path;
      makeFolder(dirname(f.path));
      const existing = statOrNull(f.path);
      if (existing && !existing.isFile()) throw new Error(`${f.path} is a directory (or another non-file) and cannot be replaced by the file`);
      written.push({ tmp: writeTemporary(f.path, f.bytes), path: f.path });
    }
    for (const w of written) {
      current = w.path;
      renameSync(w.tmp, w.path);
    }
  } catch (e) {
    for (const w of written) rmSync(w.tmp, { force: true });
    throw new Error(`cannot save ${current}: ${reason(e)}`, { cause: e });
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) syncFolder(dir);
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * Checks, before any work, that a file can later be saved at `path`: its folder can be made and
 * written to, and nothing but a file is in the way. Throws the one-line reason.
 */
export function checkWritable(path: string, what: string): void {
  const existing = statOrNull(path);
  if (existing && !existing.isFile()) throw new Error(`${what} ${path} is a directory; give a file path`);
  try {
    makeFolder(dirname(path));
    rmSync(writeTemporary(path, new Uint8Array(1)));
  } catch (e) {
    throw new Error(`cannot write ${what} ${path}: ${reason(e)}`, { cause: e });
  }
}
