/**
 * Exec over the executor protocol (docs/executor-protocol.md, "Exec"), the parts both sides
 * share: the request and its validation, the exec frames, and the agent's side of a session (a
 * state machine over frames, with no socket of its own, so the unit tests drive it directly).
 *
 *   agent                                         executor
 *   Request {method:"exec", params} id=N   ──▶    spawns (pipes, or a pty), answers
 *                                          ◀──    Response {pid} id=N          (N is the stream id)
 *   StreamData ch1 (stdin bytes)           ──▶
 *   StreamClose ch1 (stdin EOF)            ──▶
 *   StreamResize {cols, rows}              ──▶
 *   StreamClose ch0 (cancel: SIGKILL)      ──▶
 *                                          ◀──    StreamData ch2/ch3 (stdout/stderr bytes)
 *                                          ◀──    StreamClose ch2 / ch3 (that output ended)
 *                                          ◀──    StreamExit {exitCode, signal, status, timedOut?}: the last frame
 *                                          ◀──    Error id=N: setup failed (instead of the Response), or the stream broke
 */
import { Readable, Writable } from 'node:stream';
import { HullError } from '../errors';
import { parseSignal } from '../signals';
import { resolveUser } from './command';
import { Channel, FrameType, decodeJson, encodeFrame, encodeJson, messageToError, type ErrorMessage, type Frame } from './protocol';
import type { ExecRequest, ExecResult, ExecSession } from './types';

/** The largest stdin chunk one StreamData frame carries. */
export const EXEC_CHUNK = 64 * 1024;
export const DEFAULT_COLS = 80;
export const DEFAULT_ROWS = 24;

/** Every field of ExecRequest: both sides refuse any other, as for ExecCommand. */
export const EXEC_REQUEST_FIELDS: Readonly<Record<keyof ExecRequest, true>> = Object.freeze({
  cmd: true,
  args: true,
  env: true,
  cwd: true,
  user: true,
  tty: true,
  cols: true,
  rows: true,
});

function bad(field: string, why: string, code = 'EINVALIDARG'): HullError {
  return new HullError(`invalid exec request: ${field}: ${why}`, { code, field });
}

function checkStrings(field: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw bad(field, 'must be an array of strings');
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s.includes('\0')) throw bad(`${field}[${i}]`, 'must be a string without NUL bytes');
  });
  return v as string[];
}

export function checkDimension(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw bad(field, `must be an integer from 1 to 65535, got ${String(v)}`);
  return v;
}

/** Checks a request (in the agent, and again in the executor); throws a HullError naming the field. */
export function validateExecRequest(req: unknown): ExecRequest {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw bad('request', 'must be an object');
  for (const k of Object.keys(req)) if (!Object.hasOwn(EXEC_REQUEST_FIELDS, k)) throw bad(k, 'unknown field');
  const r = req as ExecRequest;
  if (typeof r.cmd !== 'string' || r.cmd === '' || r.cmd.includes('\0')) throw bad('cmd', 'must be a non-empty string without NUL bytes');
  if (r.args !== undefined) checkStrings('args', r.args);
  if (r.env !== undefined) {
    checkStrings('env', r.env).forEach((e, i) => {
      if (e.indexOf('=') <= 0) throw bad(`env[${i}]`, `must be KEY=value, got \`${e}\``);
    });
  }
  if (r.cwd !== undefined && (typeof r.cwd !== 'string' || !r.cwd.startsWith('/') || r.cwd.includes('\0'))) throw bad('cwd', 'must be an absolute path');
  if (r.user !== undefined) resolveUser(r.user);
  if (r.tty !== undefined && typeof r.tty !== 'boolean') throw bad('tty', 'must be a boolean');
  if (r.cols !== undefined) checkDimension('cols', r.cols);
  if (r.rows !== undefined) checkDimension('rows', r.rows);
  if (!r.tty && (r.cols !== undefined || r.rows !== undefined)) throw bad(r.cols !== undefined ? 'cols' : 'rows', 'a terminal size needs tty: true');
  return r;
}

export function checkTimeout(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad('timeoutMs', `must be a number of ms > 0, got ${String(v)}`);
  return v;
}

// ---- frames ----

export interface ExecSize {
  cols: number;
  rows: number;
}

export const execFrames = {
  data: (id: number, channel: Channel.Stdin | Channel.Stdout | Channel.Stderr, bytes: Buffer): Buffer => encodeFrame(FrameType.StreamData, id, bytes, channel),
  /** one direction ends: stdin from the agent, stdout or stderr from the executor; channel 0 from the agent cancels */
  close: (id: number, channel: Channel): Buffer => encodeFrame(FrameType.StreamClose, id, undefined, channel),
  resize: (id: number, size: ExecSize): Buffer => encodeJson(FrameType.StreamResize, id, size),
  exit: (id: number, result: ExecResult): Buffer => encodeJson(FrameType.StreamExit, id, result),
};

/** StreamResize's payload, checked. */
export function decodeResize(f: Frame): ExecSize {
  const v = decodeJson<Partial<ExecSize>>(f);
  return { cols: checkDimension('cols', v?.cols), rows: checkDimension('rows', v?.rows) };
}

// ---- the agent's session ----

/** What a session needs of the connection. */
export interface ExecLink {
  /** writes a frame; false when the socket is congested (then onDrain) */
  send(frame: Buffer): boolean;
  /** calls cb once the socket has drained (at once if it is not congested) */
  onDrain(cb: () => void): void;
  /** a consumer is full: stop reading the socket (for every stream of the connection) until resume */
  pause(id: number): void;
  resume(id: number): void;
  /** execSignal, answered by the executor */
  signal(id: number, sig: string | number): Promise<void>;
}

type State = 'starting' | 'running' | 'exited' | 'failed';

/**
 * The agent's side of one exec stream. starting → running (Response: the pid) → exited
 * (StreamExit) | failed (Error, or the connection lost). Outputs end at their StreamClose, and at
 * the latest with StreamExit; stdin writes after the exit are dropped (the process cannot read them).
 */
export class ClientExecSession implements ExecSession {
  state: State = 'starting';
  pid = 0;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ExecResult>;
  /** resolves with the session once the executor answered with the pid */
  readonly started: Promise<ExecSession>;
  private resolveExit!: (r: ExecResult) => void;
  private rejectExit!: (e: unknown) => void;
  private resolveStart!: (s: ExecSession) => void;
  private rejectStart!: (e: unknown) => void;
  private paused = new Set<Readable>();

  constructor(
    readonly id: number,
    readonly tty: boolean,
    private readonly link: ExecLink,
  ) {
    this.exited = new Promise((res, rej) => {
      this.resolveExit = res;
      this.rejectExit = rej;
    });
    this.exited.catch(() => undefined); // the caller may only ever look at the streams
    this.started = new Promise((res, rej) => {
      this.resolveStart = res;
      this.rejectStart = rej;
    });
    this.started.catch(() => undefined);
    // _read (a consumer wants more) resumes the socket once no output of this session is full
    this.stdout = this.bindRead(new Readable({ highWaterMark: 64 * 1024 }));
    this.stderr = this.bindRead(new Readable({ highWaterMark: 64 * 1024 }));
    this.stdin = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => this.writeStdin(chunk, cb),
      final: (cb) => {
        if (this.state === 'running' || this.state === 'starting') this.link.send(execFrames.close(this.id, Channel.Stdin));
        cb();
      },
    });
    // a write after the exit is dropped, never an unhandled 'error' in the agent
    this.stdin.on('error', () => undefined);
  }

  private bindRead(r: Readable): Readable {
    r._read = () => this.unpause(r);
    // no _read comes after a destroy: the connection must not stay paused for a reader that left
    r.on('close', () => this.unpause(r));
    return r;
  }

  /** `r` takes more (or will take no more): the connection is read again once no output is full. */
  private unpause(r: Readable): void {
    if (this.paused.delete(r) && this.paused.size === 0) this.link.resume(this.id);
  }

  private writeStdin(chunk: Buffer, cb: (e?: Error | null) => void): void {
    if (this.state === 'exited' || this.state === 'failed') {
      cb();
      return;
    }
    let ok = true;
    for (let off = 0; off < chunk.length; off += EXEC_CHUNK) {
      ok = this.link.send(execFrames.data(this.id, Channel.Stdin, chunk.subarray(off, off + EXEC_CHUNK))) && ok;
    }
    // the socket's own buffer is the queue: wait for it to drain before taking more
    if (ok) cb();
    else this.link.onDrain(() => cb());
  }

  resize(cols: number, rows: number): void {
    if (!this.tty) throw new HullError('resize: this exec session has no tty (exec with tty: true)', { code: 'EINVALIDARG', field: 'tty' });
    const size = { cols: checkDimension('cols', cols), rows: checkDimension('rows', rows) };
    if (this.state !== 'running' && this.state !== 'starting') return; // the terminal is gone: nothing to size
    this.link.send(execFrames.resize(this.id, size));
  }

  async signal(sig: string | number): Promise<void> {
    parseSignal(sig); // an unknown name is the caller's error, found before anything is sent
    if (this.state === 'exited') throw new HullError('signal: the exec\'d process has exited', { code: 'ESRCH' });
    if (this.state === 'failed') throw new HullError('signal: the exec stream failed', { code: 'ESRCH' });
    await this.link.signal(this.id, sig);
  }

  /** Asks the executor to SIGKILL the process; the StreamExit still follows. */
  cancel(): void {
    if (this.state === 'running' || this.state === 'starting') this.link.send(execFrames.close(this.id, Channel.Json));
  }

  get done(): boolean {
    return this.state === 'exited' || this.state === 'failed';
  }

  /** A frame for this stream id. */
  onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.Response: {
        if (this.state !== 'starting') return;
        const r = decodeJson<{ pid: number }>(f);
        this.pid = r?.pid ?? 0;
        this.state = 'running';
        this.resolveStart(this);
        return;
      }
      case FrameType.StreamData: {
        if (this.done) return;
        const target = f.channel === Channel.Stdout ? this.stdout : f.channel === Channel.Stderr ? this.stderr : undefined;
        if (!target || target.readableEnded || target.destroyed) return;
        if (!target.push(Buffer.from(f.payload)) && !this.paused.has(target)) {
          this.paused.add(target);
          this.link.pause(this.id);
        }
        return;
      }
      case FrameType.StreamClose: {
        if (f.channel === Channel.Stdout) this.endOutput(this.stdout);
        else if (f.channel === Channel.Stderr) this.endOutput(this.stderr);
        return;
      }
      case FrameType.StreamExit: {
        if (this.done) return;
        const r = decodeJson<ExecResult>(f);
        this.state = 'exited';
        this.endOutput(this.stdout);
        this.endOutput(this.stderr);
        this.releasePause();
        this.resolveExit({ exitCode: r.exitCode, signal: r.signal, status: r.status, ...(r.timedOut ? { timedOut: true } : {}) });
        return;
      }
      case FrameType.Error:
        this.fail(messageToError(decodeJson<ErrorMessage>(f)));
        return;
      default:
        this.fail(new HullError(`executor protocol: unexpected frame type ${f.type} on exec stream ${this.id}`, { code: 'EPROTO' }));
    }
  }

  /** The stream broke (an Error frame, or the connection lost). */
  fail(err: unknown): void {
    if (this.done) return;
    const wasStarting = this.state === 'starting';
    this.state = 'failed';
    this.releasePause();
    if (wasStarting) {
      this.rejectStart(err);
      this.stdout.destroy();
      this.stderr.destroy();
    } else {
      // the readers see the error once, on stdout; stderr just ends
      if (this.stdout.listenerCount('error') > 0) this.stdout.destroy(err as Error);
      else this.stdout.destroy();
      this.stderr.destroy();
    }
    this.stdin.destroy();
    this.rejectExit(err);
  }

  /**
   * No more data for `r`. If it was full, the connection resumes now: its consumer reads to the end
   * without another _read, and the frames behind (the exit, other streams' data) must still come.
   */
  private endOutput(r: Readable): void {
    if (!r.readableEnded && !r.destroyed) r.push(null);
    this.unpause(r);
  }

  private releasePause(): void {
    if (this.paused.size) {
      this.paused.clear();
      this.link.resume(this.id);
    }
  }
}

/** Collects a session into buffers (execOnce). */
export async function collectSession(s: ExecSession, stdin: string | Buffer | undefined): Promise<{ stdout: Buffer; stderr: Buffer; result: ExecResult }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  s.stdout.on('data', (d: Buffer) => out.push(d));
  s.stderr.on('data', (d: Buffer) => err.push(d));
  s.stdout.on('error', () => undefined);
  s.stderr.on('error', () => undefined);
  if (stdin !== undefined) s.stdin.end(stdin);
  else s.stdin.end();
  const ended = (r: Readable): Promise<void> =>
    new Promise((res) => {
      if (r.readableEnded || r.destroyed) res();
      else {
        r.once('end', res);
        r.once('close', res);
      }
    });
  const result = await s.exited;
  await Promise.all([ended(s.stdout), ended(s.stderr)]);
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), result };
}
