/**
 * Nomad's logmon file rotator: a task's stream goes to `<base>.0`, `<base>.1`, ... Each file holds
 * at most maxFileSize bytes; the index only grows; only the newest maxFiles files are kept. A
 * restarted writer appends to the newest file. Writes are synchronous: what the task wrote is in
 * the file (the page cache) as soon as write() returns, whoever dies next.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RotationOptions {
  maxFiles: number;
  maxFileSize: number;
}

export const DEFAULT_MAX_FILES = 10;
export const DEFAULT_MAX_FILE_SIZE_MB = 10;

/** The indexes of `<base>.N` files in the directory, ascending. */
export function logIndexes(base: string): number[] {
  const dir = path.dirname(base);
  const prefix = `${path.basename(base)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
}

export class RotatingLog {
  private fd = -1;
  private index: number;
  private size = 0;

  constructor(
    readonly base: string,
    private readonly opts: RotationOptions,
  ) {
    if (!(opts.maxFiles >= 1) || !(opts.maxFileSize >= 1)) throw new RangeError('maxFiles and maxFileSize must be ≥ 1');
    const existing = logIndexes(base);
    this.index = existing.length ? (existing[existing.length - 1] as number) : 0;
    this.open();
    this.purge();
  }

  /** the file being written now */
  get current(): string {
    return `${this.base}.${this.index}`;
  }

  write(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      if (this.fd < 0) return; // closed
      let room = this.opts.maxFileSize - this.size;
      if (room <= 0) {
        this.rotate();
        room = this.opts.maxFileSize;
      }
      const n = Math.min(room, data.length - off);
      const written = fs.writeSync(this.fd, data, off, n);
      this.size += written;
      off += written;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private open(): void {
    this.fd = fs.openSync(this.current, 'a', 0o644);
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    this.index++;
    this.open();
    this.purge();
  }

  /** Removes every file older than the newest maxFiles. */
  private purge(): void {
    for (const i of logIndexes(this.base)) {
      if (i > this.index - this.opts.maxFiles) break;
      try {
        fs.unlinkSync(`${this.base}.${i}`);
      } catch {
        // gone already
      }
    }
  }
}
