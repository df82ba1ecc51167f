import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError, fromNodeError, syscallError } from '../errors';

/** Turns a Node fs error into a HullError that names the path and, when given, the config field at fault. */
export function cgroupIoError(e: unknown, what: string, filePath: string, field?: string): HullError {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno !== 'number') return fromNodeError(e, what);
  return syscallError(field ? `${field}: ${what}` : what, Math.abs(err.errno), {
    ...(err.syscall ? { syscall: err.syscall } : {}),
    path: filePath,
    ...(field ? { field } : {}),
  });
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

/**
 * Writes `value` to a cgroup control file with one write(2), as the kernel parses each write on its own.
 * No O_CREAT: a missing file means the kernel lacks that knob (or the controller is not enabled), and
 * ENOENT says so better than the EACCES kernfs gives for a create. O_TRUNC is what runc uses; kernfs ignores it.
 */
export function writeCgroupFile(dir: string, file: string, value: string, field?: string): void {
  const p = path.join(dir, file);
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  } catch (e) {
    throw cgroupIoError(e, `open \`${p}\``, p, field);
  }
  try {
    fs.writeSync(fd, value);
  } catch (e) {
    throw cgroupIoError(e, `write \`${value}\` to \`${p}\``, p, field);
  } finally {
    fs.closeSync(fd);
  }
}

/** Kept between calls: reads are synchronous, and the text is copied out before the next one. */
let pseudoBuf = Buffer.allocUnsafe(8 * 1024);

/**
 * A kernel pseudo-file's text (cgroupfs, procfs). They stat as size 0, so readFileSync reads each
 * one through fresh 64 KiB buffers: three times the syscall's cost, and garbage on every container
 * create, start and delete. Errors are fs's (open or read, with code and path), as readFileSync's.
 */
export function readPseudoFile(p: string, encoding: BufferEncoding = 'latin1'): string {
  const fd = fs.openSync(p, fs.constants.O_RDONLY); // libuv opens close-on-exec
  try {
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, pseudoBuf, n, pseudoBuf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === pseudoBuf.length) {
        const bigger = Buffer.allocUnsafe(pseudoBuf.length * 2);
        pseudoBuf.copy(bigger, 0, 0, n);
        pseudoBuf = bigger;
      }
    }
    return pseudoBuf.toString(encoding, 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

export function readCgroupFile(dir: string, file: string): string {
  const p = path.join(dir, file);
  try {
    return readPseudoFile(p);
  } catch (e) {
    throw cgroupIoError(e, `read \`${p}\``, p);
  }
}

/** The file's text, or undefined when it does not exist (an optional kernel knob). */
export function readOptionalCgroupFile(dir: string, file: string): string | undefined {
  try {
    return readPseudoFile(path.join(dir, file));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw cgroupIoError(e, `read \`${path.join(dir, file)}\``, path.join(dir, file));
  }
}

export function cgroupFileExists(dir: string, file: string): boolean {
  return fs.existsSync(path.join(dir, file));
}

/** Pids listed in `dir/cgroup.procs`; [] when the cgroup is gone. */
export function readProcs(dir: string): number[] {
  const text = readOptionalProcs(dir);
  if (!text) return [];
  const pids: number[] = [];
  for (const line of text.split('\n')) if (line) pids.push(Number(line));
  return pids;
}

function readOptionalProcs(dir: string): string | undefined {
  try {
    return readPseudoFile(path.join(dir, 'cgroup.procs'));
  } catch (e) {
    // ENODEV: the cgroup was removed while we held its directory
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENODEV')) return undefined;
    throw cgroupIoError(e, `read \`${path.join(dir, 'cgroup.procs')}\``, path.join(dir, 'cgroup.procs'));
  }
}

/** `dir` and every cgroup below it, children before parents (the order rmdir needs). */
export function cgroupSubtree(dir: string): string[] {
  const out: string[] = [];
  collectSubtree(dir, out);
  return out;
}

function collectSubtree(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw cgroupIoError(e, `read directory \`${dir}\``, dir);
  }
  for (const ent of entries) if (ent.isDirectory()) collectSubtree(path.join(dir, ent.name), out);
  out.push(dir);
}

/** mkdir -p, naming the directory on failure. */
export function makeCgroupDir(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      return;
    } catch (e) {
      // a parent removed by another container's delete between mkdir's steps: make it again
      if (isErrno(e, 'ENOENT') && attempt < 3) continue;
      throw cgroupIoError(e, `mkdir \`${dir}\``, dir);
    }
  }
}

/**
 * Directories from just below `top` down to `dir`, top first: `ancestry('/a', '/a/b/c')` is `['/a/b', '/a/b/c']`.
 * Empty when `dir` is not below `top`.
 */
export function ancestry(top: string, dir: string): string[] {
  const rel = path.relative(top, dir);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return [];
  const out: string[] = [];
  let cur = top;
  for (const part of rel.split(path.sep)) {
    cur = path.join(cur, part);
    out.push(cur);
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const warned = new Set<string>();

/** process.emitWarning once per process for each code, so a loop over containers does not flood stderr. */
export function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { code });
}
