/**
 * The console socket's receiving end (runc's --console-socket contract, as conmon and
 * containerd's shim implement it), and the relay of a pty master to hull's own terminal for a
 * foreground `run` without a socket.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../native';
import { PtyStream } from './pty-stream';

export class ConsoleListener {
  readonly path: string;
  readonly dir: string;
  private fd: number;

  /** prefix: of the private directory that holds the socket, under the tmpdir */
  constructor(prefix = 'hull-console-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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

/**
 * Relays the container's terminal to ours: raw mode, the window size now and on every SIGWINCH,
 * our input to the pty with backpressure (stdin pauses while the pty is full), and the mode
 * restored when the container's side closes (EIO on the master, the end of the PtyStream).
 * The relay owns `master`: it is closed by stop(), or when the pty fails.
 */
export interface Relay {
  /** resolves when the pty's other side has closed, or after stop() */
  done: Promise<void>;
  /** ends the relay and restores our terminal */
  stop(): void;
}

/**
 * Ends a relay once the lead process has exited: what is already written to the pty drains for up
 * to drainMs, but a background process that keeps the pty open cannot keep hull running.
 */
export async function finishRelay(relay: Relay | undefined, drainMs = 200): Promise<void> {
  if (!relay) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([relay.done, new Promise<void>((r) => (timer = setTimeout(r, drainMs)))]);
  clearTimeout(timer);
  relay.stop();
}

export function relayTerminal(master: number): Relay {
  const pty = new PtyStream(master);
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const resize = () => {
    const { columns, rows } = process.stdout;
    if (process.stdout.isTTY && columns > 0 && rows > 0) pty.resize(Math.min(columns, 65535), Math.min(rows, 65535));
  };
  resize();
  if (raw) {
    stdin.setRawMode(true);
    // the container's pty already made its "\n" a "\r\n": ours must pass it through (cfmakeraw)
    try {
      native().clearOpost(0);
    } catch {
      // not fatal: the output gets an extra "\r" before each "\n"
    }
  }
  // stdin's EOF is not the terminal's: a pty has no half-close, so the pty stays open for output
  stdin.pipe(pty, { end: false });
  process.stdout.on('resize', resize);
  pty.pipe(process.stdout, { end: false });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    let finished = false;
    let restored = false;
    const restore = (): void => {
      if (restored) return;
      restored = true;
      stdin.unpipe(pty);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      process.stdout.off('resize', resize);
      pty.unpipe(process.stdout);
    };
    finish = () => {
      if (finished) return;
      finished = true;
      restore();
      pty.destroy();
      resolve();
    };
    pty.on('error', finish); // anything but EIO, which is the end
    pty.on('close', finish);
    // the end of the output: our terminal is given back now, but the master stays open until
    // stop(), after the process has exited (closing it would SIGHUP a process still exiting)
    pty.on('end', () => {
      restore();
      resolve();
    });
  });
  return { done, stop: () => finish() };
}
