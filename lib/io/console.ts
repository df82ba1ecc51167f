/**
 * The console socket's receiving end (runc's --console-socket contract, as conmon and
 * containerd's shim implement it), and the relay of a pty master to hull's own terminal for a
 * foreground `run` without a socket.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { native } from '../native';

export class ConsoleListener {
  readonly path: string;
  private readonly dir: string;
  private fd: number;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-console-'));
    this.path = path.join(this.dir, 'console.sock');
    this.fd = native().listenUnix(this.path);
  }

  /** The pty master the init sent; the connection is already queued once create has returned. */
  receive(): { fd: number; name: string } {
    const conn = native().accept(this.fd);
    try {
      return native().recvFd(conn);
    } finally {
      native().close(conn);
    }
  }

  close(): void {
    if (this.fd >= 0) native().close(this.fd);
    this.fd = -1;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

/**
 * Relays the container's terminal to ours: raw mode, the window size now and on every SIGWINCH,
 * and the mode restored when the container's side closes (EIO on the master).
 */
export function relayTerminal(master: number): Promise<void> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const resize = () => {
    if (process.stdout.isTTY) native().setWinsize(master, process.stdout.columns, process.stdout.rows);
  };
  resize();
  if (raw) stdin.setRawMode(true);
  const input = (d: Buffer) => writeAll(master, d);
  stdin.on('data', input);
  stdin.resume();
  process.stdout.on('resize', resize);
  const out = new tty.ReadStream(master);
  out.pipe(process.stdout, { end: false });
  return new Promise((resolve) => {
    const done = () => {
      stdin.off('data', input);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      process.stdout.off('resize', resize);
      out.destroy();
      resolve();
    };
    out.on('error', done); // EIO: the last process holding the pty's other end has gone
    out.on('end', done);
  });
}
