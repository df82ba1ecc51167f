/**
 * A pty master fd as a Node Duplex, with backpressure both ways.
 *
 * Reading goes through a `tty.ReadStream` on the fd (libuv polls it; the fd becomes
 * O_NONBLOCK). Writing does NOT go through `tty.WriteStream`: that makes the fd blocking, so a
 * container that stops reading its terminal would block hull's event loop; `net.Socket` refuses
 * a TTY fd. Writes are plain non-blocking write(2)s on the main thread, retried after EAGAIN
 * (node-pty's approach, without its thread pool: a write queued on the pool could run after the
 * fd was closed and its number reused). The Writable's own buffer is the queue: `write()`
 * returns false above `writableHighWaterMark`, and 'drain' follows once the pty took it.
 *
 * When the last process holding the other side has gone, read(2) on the master fails with EIO:
 * that is the end of the terminal, not an error. The stream ends ('end'); input still queued, or
 * written later, is dropped, as the kernel would drop it. The fd stays open until `destroy()`:
 * the last close of a master hangs up the terminal, and the kernel sends SIGHUP to the session
 * leader that has it as its controlling terminal (pty_close, tty_vhangup). A process that closes
 * its terminal fds before it exits (coreutils' cat closes stdin and stdout) is still alive after
 * the EIO, and would die of that SIGHUP instead of its own exit status; the owner closes the
 * master once the process is reaped. For the same reason the reader polls a dup of the fd: Node
 * closes a stream's handle itself on a read error such as EIO.
 *
 * The stream owns the fd: `destroy()` closes it, exactly once.
 */
import * as fs from 'node:fs';
import { Duplex } from 'node:stream';
import * as tty from 'node:tty';
import { HullError } from '../errors';
import { native } from '../native';

export interface PtyStreamOptions {
  /** bytes queued for the pty before write() returns false; default 16 KiB */
  writableHighWaterMark?: number;
  /** bytes read ahead of the consumer; default 16 KiB */
  readableHighWaterMark?: number;
}

interface Job {
  buf: Buffer;
  off: number;
  cb: (err?: Error | null) => void;
}

/** The longest pause between retries of a write the pty refused (EAGAIN), in ms. */
const MAX_BACKOFF_MS = 8;

function isPtyMaster(fd: number): boolean {
  try {
    return /^tty-index:/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

function checkDimension(name: 'cols' | 'rows', v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new HullError(`resize: ${name}: expected an integer from 1 to 65535, got ${String(v)}`, { code: 'EINVALIDARG', field: name });
  }
  return v;
}

export class PtyStream extends Duplex {
  readonly fd: number;
  private readonly reader: tty.ReadStream;
  private job: Job | undefined;
  private retry: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private backoff = 0;
  /** the other side has gone (EIO): input is dropped */
  private hungUp = false;
  private fdClosed = false;

  /**
   * Takes ownership of `fd`, a pty master (/dev/ptmx). When this throws (an fd that is not one, or
   * one that cannot be set up) the fd is left alone: it is still the caller's.
   */
  constructor(fd: number, opts: PtyStreamOptions = {}) {
    super({
      allowHalfOpen: true,
      writableHighWaterMark: opts.writableHighWaterMark ?? 16 * 1024,
      readableHighWaterMark: opts.readableHighWaterMark ?? 16 * 1024,
      decodeStrings: true,
    });
    if (!Number.isInteger(fd) || fd < 0) throw new HullError(`pty: expected an fd, got ${String(fd)}`, { code: 'EINVALIDARG', field: 'fd' });
    if (!tty.isatty(fd) || !isPtyMaster(fd)) throw new HullError(`pty: fd ${fd} is not a pty master`, { code: 'EINVALIDARG', field: 'fd' });
    this.fd = fd;
    // on the open file, shared by the dup: libuv leaves a master blocking (it can reopen only a
    // slave by name), and a write(2) to a full pty would then block the event loop
    native().setNonblock(fd);
    const readFd = native().dup(fd);
    try {
      this.reader = new tty.ReadStream(readFd);
    } catch (e) {
      native().close(readFd);
      throw e;
    }
    this.reader.pause();
    this.reader.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.reader.pause();
    });
    this.reader.on('end', () => this.hangUp());
    this.reader.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EIO') this.hangUp();
      else this.destroy(err);
    });
  }

  /** Sets the terminal's size: one TIOCSWINSZ; the foreground process group gets SIGWINCH. */
  resize(cols: number, rows: number): void {
    const c = checkDimension('cols', cols);
    const r = checkDimension('rows', rows);
    if (this.fdClosed || this.destroyed) throw new HullError('resize: the terminal is closed', { code: 'EBADF' });
    native().setWinsize(this.fd, c, r);
  }

  override _read(): void {
    this.reader.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.job = { buf: chunk, off: 0, cb };
    this.flush();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    cb(); // a terminal has no half-close: the peer sees EOF only if a VEOF (^D) is written
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.retry) {
      clearImmediate(this.retry as NodeJS.Immediate);
      clearTimeout(this.retry as NodeJS.Timeout);
      this.retry = undefined;
    }
    this.job = undefined;
    const closeFd = (): void => {
      if (!this.fdClosed) fs.closeSync(this.fd);
      this.fdClosed = true;
      cb(err);
    };
    if (this.reader.destroyed) {
      closeFd();
      return;
    }
    this.reader.once('close', closeFd);
    this.reader.destroy(); // closes the reader's dup
  }

  /** EIO or EOF on the master: the end of the terminal. */
  private hangUp(): void {
    if (this.hungUp) return;
    this.hungUp = true;
    const job = this.job;
    this.job = undefined;
    job?.cb();
    this.push(null);
  }

  private flush(): void {
    this.retry = undefined;
    const job = this.job;
    if (!job) return;
    while (job.off < job.buf.length && !this.hungUp) {
      if (this.fdClosed) {
        this.job = undefined;
        job.cb(new HullError('write: the terminal is closed', { code: 'EBADF' }));
        return;
      }
      try {
        job.off += fs.writeSync(this.fd, job.buf, job.off);
        this.backoff = 0;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          // the pty's input queue is full: the other side is not reading
          this.retry = this.backoff === 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), Math.min(2 ** (this.backoff - 1), MAX_BACKOFF_MS));
          this.backoff++;
          return;
        }
        if (code === 'EIO') break; // hung up: dropped below, 'end' follows from the reader
        this.job = undefined;
        job.cb(e as Error);
        return;
      }
    }
    this.job = undefined;
    job.cb();
  }
}
