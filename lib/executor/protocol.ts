/**
 * The agent ↔ executor wire format (docs/executor-protocol.md): length-prefixed frames over a
 * unix stream socket.
 *
 *   u32 BE length (of everything after it) | u8 type | u8 channel | u32 BE id | payload
 *
 * JSON payloads are UTF-8; stream data is raw bytes. No dependency, no allocation beyond the
 * frames themselves.
 */
import { HullError } from '../errors';

export const PROTOCOL_VERSION = 1;
export const MAGIC = 'hull-executor';
/** the command-line marker of an executor process, checked on reattach */
export const EXECUTOR_MARKER = '--hull-executor';

export const HEADER_SIZE = 10;
/** the largest frame either side accepts (length field value) */
export const MAX_FRAME = 16 * 1024 * 1024;

export enum FrameType {
  /** both ways, first frame of a connection: {magic, protocol, pid?, startTime?} */
  Hello = 1,
  /** agent → executor: {method, params}; id is the request id */
  Request = 2,
  /** executor → agent: the result of request `id` (JSON, empty for none) */
  Response = 3,
  /** executor → agent: request or stream `id` failed: {message, code, ...} */
  Error = 4,
  /** stream `id` data; channel says which (0 JSON, 1 stdin, 2 stdout, 3 stderr) */
  StreamData = 5,
  /** stream `id` (channel) ends: stdout/stderr from the executor; stdin (ch 1) from the agent, or a cancel (ch 0) */
  StreamClose = 6,
  /** agent → executor, exec stream `id`: the terminal size {cols, rows} */
  StreamResize = 7,
  /** executor → agent, exec stream `id`: the process exited {exitCode, signal, status, timedOut?}; the last frame */
  StreamExit = 8,
}

export enum Channel {
  Json = 0,
  Stdin = 1,
  Stdout = 2,
  Stderr = 3,
}

export interface Frame {
  type: FrameType;
  channel: number;
  id: number;
  payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function encodeFrame(type: FrameType, id: number, payload: Buffer = EMPTY, channel = 0): Buffer {
  if (payload.length + HEADER_SIZE - 4 > MAX_FRAME) {
    throw new HullError(`executor protocol: frame of ${payload.length} bytes is over the ${MAX_FRAME} byte limit`, { code: 'E2BIG' });
  }
  const buf = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  buf.writeUInt32BE(HEADER_SIZE - 4 + payload.length, 0);
  buf.writeUInt8(type, 4);
  buf.writeUInt8(channel, 5);
  buf.writeUInt32BE(id >>> 0, 6);
  payload.copy(buf, HEADER_SIZE);
  return buf;
}

export function encodeJson(type: FrameType, id: number, value: unknown, channel = 0): Buffer {
  return encodeFrame(type, id, value === undefined ? EMPTY : Buffer.from(JSON.stringify(value), 'utf8'), channel);
}

export function decodeJson<T = unknown>(frame: Frame): T {
  if (frame.payload.length === 0) return undefined as T;
  try {
    return JSON.parse(frame.payload.toString('utf8')) as T;
  } catch (e) {
    throw new HullError(`executor protocol: frame ${frame.type} carries invalid JSON: ${(e as Error).message}`, { code: 'EPROTO' });
  }
}

/**
 * Reassembles frames from a byte stream: bytes arrive in chunks that split frames anywhere
 * (even inside the header) or hold several.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes; returns every frame now complete, in order. Throws EPROTO on a malformed length. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len < HEADER_SIZE - 4 || len > MAX_FRAME) {
        throw new HullError(`executor protocol: bad frame length ${len}`, { code: 'EPROTO' });
      }
      if (this.buffered < 4 + len) break;
      const whole = this.take(4 + len);
      out.push({
        type: whole.readUInt8(4) as FrameType,
        channel: whole.readUInt8(5),
        id: whole.readUInt32BE(6),
        payload: whole.subarray(HEADER_SIZE),
      });
    }
    return out;
  }

  /** bytes held for a frame not complete yet */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] as Buffer;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

export interface Hello {
  magic: string;
  protocol: number;
  /** from the executor: its pid and start time, checked against the reattach config */
  pid?: number;
  startTime?: number;
  isolation?: string;
}

export interface RequestMessage {
  method: string;
  params?: unknown;
}

export interface ErrorMessage {
  message: string;
  code: string;
  field?: string;
  path?: string;
  syscall?: string;
  errno?: number;
  step?: string;
}

/** A HullError (or any error) as it crosses the socket. */
export function errorToMessage(e: unknown): ErrorMessage {
  const err = e as HullError;
  const m: ErrorMessage = { message: String(err?.message ?? e), code: typeof err?.code === 'string' ? err.code : 'EIO' };
  for (const k of ['field', 'path', 'syscall', 'step'] as const) if (typeof err?.[k] === 'string') m[k] = err[k];
  if (typeof err?.errno === 'number') m.errno = err.errno;
  return m;
}

export function messageToError(m: ErrorMessage): HullError {
  return new HullError(m.message, {
    code: m.code,
    ...(m.field !== undefined ? { field: m.field } : {}),
    ...(m.path !== undefined ? { path: m.path } : {}),
    ...(m.syscall !== undefined ? { syscall: m.syscall } : {}),
    ...(m.errno !== undefined ? { errno: m.errno } : {}),
    ...(m.step !== undefined ? { step: m.step } : {}),
  });
}
