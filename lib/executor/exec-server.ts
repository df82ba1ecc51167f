/**
 * The executor's side of one exec stream (docs/executor-protocol.md, "Exec"): the process, its
 * stdio (three pipes, or a pty whose master comes back on a console socket), the frames, and the
 * flow control. Loaded only by an executor that serves an exec.
 *
 * Flow control, both ways, with no unbounded buffer in the executor:
 * - output: every chunk read from the process is one StreamData frame; when the socket's write
 *   returns false, the connection is congested and every exec of that connection stops reading
 *   its process's output (the pipe or pty fills, and the process blocks in write) until 'drain';
 * - stdin: when the process's stdin (pipe or pty) does not take a chunk at once, the executor stops
 *   reading the connection until it has drained; the agent's own socket buffer then fills, and its
 *   session's stdin Writable reports backpressure.
 *
 * The end: the lead process's exit (its pidfd), never EOF. After it, the output is drained until
 * EOF, or until it has been idle (not paused) for DRAIN_IDLE_MS, at most DRAIN_MAX_MS: a background
 * child that keeps the pty or a pipe open cannot hold the session (`sh -c 'sleep 100 & echo hi'`
 * returns at once, as `docker exec -it` does). Then StreamClose for stdout and stderr, then
 * StreamExit, the stream's last frame.
 */
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { HullError } from '../errors';
import { ConsoleListener } from '../io/console';
import { PtyStream } from '../io/pty-stream';
import { native } from '../native';
import { exitStatusCode } from '../signals';
import { DEFAULT_COLS, DEFAULT_ROWS, decodeResize, execFrames } from './exec';
import { Channel, FrameType, type Frame } from './protocol';
import type { ExecSpawned, RunningTask } from './task';
import type { ExecRequest, ExecResult } from './types';

export const DRAIN_IDLE_MS = 100;
export const DRAIN_MAX_MS = 2000;
/** ^D: a terminal has no half-close; VEOF at the start of a line is its EOF */
const VEOF = Buffer.from([4]);

/** What an exec needs of its connection. */
export interface ExecConn {
  /** writes a frame; false when the socket is congested */
  send(frame: Buffer): boolean;
  readonly congested: boolean;
  /** stdin is full: stop (true) or resume (false) reading the connection for this stream */
  blockInput(id: number, blocked: boolean): void;
  /** the stream's last frame was sent */
  finished(id: number): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

function closeQuietly(fd: number): void {
  try {
    native().close(fd);
  } catch {
    // already closed
  }
}

export class ServerExec {
  pid = 0;
  private pidfd = -1;
  private reaped = false;
  private pty: PtyStream | undefined;
  private stdin: net.Socket | undefined;
  private outputs: Readable[] = [];
  private readonly open = new Set<Readable>();
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private exitResult: ExecResult | undefined;
  private drainTimers: NodeJS.Timeout[] = [];
  private finishedSent = false;
  private stdinClosed = false;

  constructor(
    readonly id: number,
    private readonly task: RunningTask,
    private readonly req: ExecRequest,
    private readonly timeoutMs: number | undefined,
    private readonly conn: ExecConn,
  ) {}

  get tty(): boolean {
    return this.req.tty === true;
  }

  private pendingWiring: (() => void) | undefined;

  /**
   * Spawns the process (held before exec with a tty) and opens its stdio; resolves with its pid.
   * Sends nothing: the caller answers with the pid, then calls begin(). On failure nothing is
   * left behind.
   */
  async start(): Promise<number> {
    if (this.tty) await this.startTty();
    else await this.startPipes();
    return this.pid;
  }

  /** After the Response: output flows, the exit is watched, a held process execs, the timeout runs. */
  begin(): void {
    const wire = this.pendingWiring;
    this.pendingWiring = undefined;
    wire?.();
    if (this.timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.conn.log('info', 'exec timed out: SIGKILL', { stream: this.id, pid: this.pid, timeoutMs: this.timeoutMs });
        this.kill();
      }, this.timeoutMs);
    }
  }

  private async startPipes(): Promise<void> {
    const fds: number[] = [];
    try {
      const [inR, inW] = native().pipe();
      fds.push(inR, inW);
      const [outR, outW] = native().pipe();
      fds.push(outR, outW);
      const [errR, errW] = native().pipe();
      fds.push(errR, errW);
      let spawned: ExecSpawned;
      try {
        spawned = await this.task.exec(this.req, { stdio: [inR, outW, errW] });
      } finally {
        // the process has its copies (or failed): ours of its ends go now
        for (const fd of [inR, outW, errW]) closeQuietly(fd);
        fds.splice(0, fds.length, inW, outR, errR);
      }
      fds.length = 0;
      this.pid = spawned.pid;
      this.pidfd = spawned.pidfd;
      this.stdin = new net.Socket({ fd: inW, readable: false, writable: true });
      this.stdin.on('error', () => undefined); // EPIPE once the process is gone: its input is dropped
      const out = new net.Socket({ fd: outR, readable: true, writable: false });
      const err = new net.Socket({ fd: errR, readable: true, writable: false });
      out.pause();
      err.pause();
      this.outputs.push(out, err);
      this.pendingWiring = () => {
        this.adopt(spawned);
        this.wireOutput(out, Channel.Stdout);
        this.wireOutput(err, Channel.Stderr);
      };
    } catch (e) {
      for (const fd of fds) closeQuietly(fd);
      throw e;
    }
  }

  private async startTty(): Promise<void> {
    const listener = new ConsoleListener();
    let spawned: ExecSpawned | undefined;
    let master = -1;
    try {
      // held before exec: the terminal gets its size before the process can ask for it
      spawned = await this.task.exec(this.req, { consoleSocket: listener.path, hold: true });
      master = listener.receive().fd;
    } catch (e) {
      if (spawned) this.abandon(spawned);
      throw e;
    } finally {
      listener.close();
    }
    try {
      this.pty = new PtyStream(master);
    } catch (e) {
      closeQuietly(master);
      this.abandon(spawned);
      throw e;
    }
    try {
      this.pty.resize(this.req.cols ?? DEFAULT_COLS, this.req.rows ?? DEFAULT_ROWS);
    } catch (e) {
      this.pty.destroy();
      this.abandon(spawned);
      throw e;
    }
    const pty = this.pty;
    pty.on('error', (e) => this.conn.log('debug', 'exec pty', { stream: this.id, error: String(e) }));
    this.pid = spawned.pid;
    this.pidfd = spawned.pidfd;
    const held = spawned;
    this.pendingWiring = () => {
      this.adopt(held);
      this.wireOutput(pty, Channel.Stdout);
      // stderr shares the terminal: it ends empty at once
      this.conn.send(execFrames.close(this.id, Channel.Stderr));
      if (held.holdFd !== undefined) {
        try {
          native().release(held.holdFd);
        } catch (e) {
          this.conn.log('warn', 'releasing a held exec failed: killing it', { stream: this.id, error: String(e) });
          this.kill();
        }
      }
    };
    this.held = held;
  }

  private held: ExecSpawned | undefined;

  /** A held process we give up on: closing its hold fd makes it exit; reap it. */
  private abandon(s: ExecSpawned): void {
    if (s.holdFd !== undefined) closeQuietly(s.holdFd);
    native()
      .watchExit(s.pidfd)
      .catch(() => undefined)
      .finally(() => closeQuietly(s.pidfd));
  }

  private adopt(s: { pid: number; pidfd: number }): void {
    this.pid = s.pid;
    this.pidfd = s.pidfd;
    const exited = native().watchExit(s.pidfd);
    exited.then(
      (st) => {
        this.reaped = true;
        closeQuietly(this.pidfd);
        this.onExit({ exitCode: st.signal !== null ? null : st.exitCode, signal: st.signal, status: exitStatusCode(st) });
      },
      (e: unknown) => {
        this.reaped = true;
        closeQuietly(this.pidfd);
        this.conn.log('error', 'waiting for an exec failed', { stream: this.id, error: String(e) });
        this.onExit({ exitCode: null, signal: null, status: -2 });
      },
    );
  }

  private wireOutput(r: Readable, channel: Channel.Stdout | Channel.Stderr): void {
    if (!this.outputs.includes(r)) this.outputs.push(r);
    this.open.add(r);
    r.on('data', (d: Buffer) => {
      if (!this.conn.send(execFrames.data(this.id, channel, d))) r.pause();
    });
    r.resume();
    const end = (): void => {
      if (!this.open.delete(r)) return;
      if (!this.finishedSent) this.conn.send(execFrames.close(this.id, channel));
      // a pty master stays open until the process is reaped (finish): closing it would SIGHUP a
      // process that has closed its terminal but not yet exited (see PtyStream)
      if (r !== this.pty) r.destroy();
      if (this.exitResult && this.open.size === 0) this.finish();
    };
    r.on('end', end);
    r.on('close', end);
    r.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EIO') this.conn.log('debug', 'exec output', { stream: this.id, error: String(e) });
      end();
    });
    if (this.conn.congested) r.pause();
  }

  /** The connection is congested (pause) or drained (resume). */
  pauseOutput(): void {
    for (const r of this.open) r.pause();
  }

  resumeOutput(): void {
    for (const r of this.open) r.resume();
  }

  onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.StreamData:
        if (f.channel === Channel.Stdin) this.writeStdin(Buffer.from(f.payload));
        return;
      case FrameType.StreamClose:
        if (f.channel === Channel.Stdin) this.closeStdin();
        else if (f.channel === Channel.Json) this.kill(); // cancel: the StreamExit still follows
        return;
      case FrameType.StreamResize: {
        if (!this.pty) throw new HullError('resize: this exec session has no tty', { code: 'EINVALIDARG', field: 'tty' });
        const { cols, rows } = decodeResize(f);
        if (!this.pty.destroyed) this.pty.resize(cols, rows);
        return;
      }
      default:
        throw new HullError(`frame type ${f.type} is not part of an exec stream`, { code: 'EPROTO' });
    }
  }

  private writeStdin(d: Buffer): void {
    if (this.stdinClosed || this.exitResult) return;
    const w = this.pty ?? this.stdin;
    if (!w || w.destroyed || w.writableEnded) return;
    if (!w.write(d)) {
      this.conn.blockInput(this.id, true);
      const go = (): void => {
        w.off('drain', go);
        w.off('close', go);
        this.conn.blockInput(this.id, false);
      };
      w.on('drain', go);
      w.on('close', go);
    }
  }

  private closeStdin(): void {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    if (this.pty) {
      if (!this.pty.destroyed && !this.exitResult) this.pty.write(VEOF);
    } else if (this.stdin && !this.stdin.destroyed) {
      this.stdin.end();
    }
  }

  signal(sig: number): void {
    if (this.reaped || this.pidfd < 0) throw new HullError('signal: the exec\'d process has exited', { code: 'ESRCH' });
    native().pidfdSignal(this.pidfd, sig);
  }

  /**
   * SIGKILL to the process's group (the native child made it a session and group leader), so its
   * children go too; only while it is not reaped, so the group id cannot be anyone else's.
   */
  kill(): void {
    if (this.reaped || this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      try {
        native().pidfdSignal(this.pidfd, 9);
      } catch {
        // exited meanwhile
      }
    }
  }

  private onExit(r: ExecResult): void {
    clearTimeout(this.timer);
    this.exitResult = this.timedOut ? { ...r, timedOut: true } : r;
    this.conn.log('debug', 'exec exited', { stream: this.id, pid: this.pid, ...this.exitResult });
    if (this.stdin && !this.stdin.destroyed) this.stdin.destroy();
    if (this.open.size === 0) {
      this.finish();
      return;
    }
    // drain: until EOF, or idle (while not paused by congestion) for DRAIN_IDLE_MS, at most DRAIN_MAX_MS
    let last = Date.now();
    for (const r of this.open) r.on('data', () => (last = Date.now()));
    const started = Date.now();
    const tick = (): void => {
      if (this.finishedSent) return;
      const now = Date.now();
      if (this.conn.congested) last = now;
      if (now - last >= DRAIN_IDLE_MS || now - started >= DRAIN_MAX_MS) {
        this.finish();
        return;
      }
      this.drainTimers.push(setTimeout(tick, DRAIN_IDLE_MS / 2));
    };
    this.drainTimers.push(setTimeout(tick, DRAIN_IDLE_MS / 2));
  }

  /** Closes what is left and sends the last frames. */
  private finish(): void {
    if (this.finishedSent) return;
    for (const t of this.drainTimers) clearTimeout(t);
    this.drainTimers = [];
    for (const r of [...this.open]) {
      this.open.delete(r);
      const ch = this.pty ? Channel.Stdout : this.outputs.indexOf(r) === 0 ? Channel.Stdout : Channel.Stderr;
      this.conn.send(execFrames.close(this.id, ch));
      r.destroy();
    }
    for (const r of this.outputs) if (!r.destroyed) r.destroy();
    if (this.pty && !this.pty.destroyed) this.pty.destroy();
    if (this.stdin && !this.stdin.destroyed) this.stdin.destroy();
    this.finishedSent = true;
    this.conn.blockInput(this.id, false);
    this.conn.send(execFrames.exit(this.id, this.exitResult ?? { exitCode: null, signal: null, status: -2 }));
    this.conn.finished(this.id);
  }

  /**
   * The connection went away, or the exec was refused after start(): the process must not run on
   * unseen. It is killed and reaped; nothing more is sent.
   */
  abort(): void {
    this.finishedSent = true;
    if (this.pendingWiring) {
      // never begun: a held process exits when its hold fd closes, a running one is killed
      this.pendingWiring = undefined;
      if (this.held) {
        this.abandon(this.held);
      } else {
        this.kill();
        this.adopt({ pid: this.pid, pidfd: this.pidfd });
      }
      for (const r of this.outputs) r.destroy();
      this.pty?.destroy();
      this.stdin?.destroy();
      return;
    }
    this.kill();
  }

  get exited(): boolean {
    return this.exitResult !== undefined;
  }
}
