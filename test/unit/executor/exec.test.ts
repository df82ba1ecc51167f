/**
 * Exec over the executor protocol, without a socket: the frames, the request's validation, and
 * the agent's session as a state machine driven by frames (lib/executor/exec.ts).
 */
import { ClientExecSession, EXEC_CHUNK, EXEC_REQUEST_FIELDS, checkTimeout, decodeResize, execFrames, validateExecRequest, type ExecLink } from '../../../lib/executor/exec';
import { Channel, FrameDecoder, FrameType, decodeJson, encodeJson, errorToMessage, type Frame } from '../../../lib/executor/protocol';
import type { ExecRequest } from '../../../lib/executor/types';
import { HullError } from '../../../lib/errors';

function one(buf: Buffer): Frame {
  const frames = new FrameDecoder().push(buf);
  expect(frames).toHaveLength(1);
  return frames[0] as Frame;
}

class FakeLink implements ExecLink {
  sent: Frame[] = [];
  congested = false;
  drainers: (() => void)[] = [];
  paused = new Set<number>();
  signals: [number, string | number][] = [];
  send(frame: Buffer): boolean {
    this.sent.push(one(frame));
    return !this.congested;
  }
  onDrain(cb: () => void): void {
    if (this.congested) this.drainers.push(cb);
    else cb();
  }
  drain(): void {
    this.congested = false;
    for (const d of this.drainers.splice(0)) d();
  }
  pause(id: number): void {
    this.paused.add(id);
  }
  resume(id: number): void {
    this.paused.delete(id);
  }
  signal(id: number, sig: string | number): Promise<void> {
    this.signals.push([id, sig]);
    return Promise.resolve();
  }
}

function started(tty = false): { s: ClientExecSession; link: FakeLink } {
  const link = new FakeLink();
  const s = new ClientExecSession(7, tty, link);
  s.onFrame(one(encodeJson(FrameType.Response, 7, { pid: 1234 })));
  return { s, link };
}

const exitFrame = (r: object): Frame => one(execFrames.exit(7, r as never));

describe('exec frames', () => {
  it('data carries raw bytes on its channel; close and resize; exit is JSON', () => {
    const d = one(execFrames.data(9, Channel.Stdin, Buffer.from([0, 1, 255])));
    expect(d).toMatchObject({ type: FrameType.StreamData, channel: Channel.Stdin, id: 9 });
    expect([...d.payload]).toEqual([0, 1, 255]);
    expect(one(execFrames.close(9, Channel.Stderr))).toMatchObject({ type: FrameType.StreamClose, channel: Channel.Stderr, id: 9, payload: Buffer.alloc(0) });
    const r = one(execFrames.resize(9, { cols: 132, rows: 50 }));
    expect(r.type).toBe(FrameType.StreamResize);
    expect(decodeResize(r)).toEqual({ cols: 132, rows: 50 });
    const e = one(execFrames.exit(9, { exitCode: null, signal: 9, status: 137, timedOut: true }));
    expect(e.type).toBe(FrameType.StreamExit);
    expect(decodeJson(e)).toEqual({ exitCode: null, signal: 9, status: 137, timedOut: true });
  });

  it('a resize out of range is refused, naming the field', () => {
    expect(() => decodeResize(one(encodeJson(FrameType.StreamResize, 1, { cols: 0, rows: 5 })))).toThrow(/cols/);
    expect(() => decodeResize(one(encodeJson(FrameType.StreamResize, 1, { cols: 5, rows: 70000 })))).toThrow(/rows/);
    expect(() => decodeResize(one(encodeJson(FrameType.StreamResize, 1, undefined)))).toThrow(/cols/);
  });
});

describe('validateExecRequest', () => {
  it('accepts a full request, and the field list matches the interface', () => {
    const r: ExecRequest = { cmd: 'sh', args: ['-c', 'x'], env: ['A=1'], cwd: '/', user: { uid: 1, gid: 1 }, tty: true, cols: 80, rows: 24 };
    expect(validateExecRequest(r)).toBe(r);
    expect(Object.keys(EXEC_REQUEST_FIELDS).sort()).toEqual(Object.keys(r).sort());
  });

  it.each([
    [{ cmd: '' }, 'cmd'],
    [{ cmd: 'a', args: [1] }, 'args[0]'],
    [{ cmd: 'a', env: ['NOEQUALS'] }, 'env[0]'],
    [{ cmd: 'a', cwd: 'relative' }, 'cwd'],
    [{ cmd: 'a', tty: 'yes' }, 'tty'],
    [{ cmd: 'a', tty: true, cols: 0 }, 'cols'],
    [{ cmd: 'a', rows: 24 }, 'rows'],
    [{ cmd: 'a', other: 1 }, 'other'],
    [{ cmd: 'a', user: { uid: -1, gid: 0 } }, 'user.uid'],
  ])('refuses %j (field %s)', (req, field) => {
    expect(() => validateExecRequest(req)).toThrow(expect.objectContaining({ field }));
  });

  it('timeoutMs: absent, or a positive number', () => {
    expect(checkTimeout(undefined)).toBeUndefined();
    expect(checkTimeout(5)).toBe(5);
    expect(() => checkTimeout(0)).toThrow(/timeoutMs/);
    expect(() => checkTimeout('5')).toThrow(/timeoutMs/);
  });
});

describe('ClientExecSession', () => {
  it('starting → running on the Response, with the pid', async () => {
    const link = new FakeLink();
    const s = new ClientExecSession(7, false, link);
    expect(s.state).toBe('starting');
    s.onFrame(one(encodeJson(FrameType.Response, 7, { pid: 42 })));
    await expect(s.started).resolves.toBe(s);
    expect(s.state).toBe('running');
    expect(s.pid).toBe(42);
  });

  it('an Error before the Response rejects the start, and exited', async () => {
    const link = new FakeLink();
    const s = new ClientExecSession(7, false, link);
    s.onFrame(one(encodeJson(FrameType.Error, 7, errorToMessage(new HullError('exec `x`: no such file', { code: 'ENOENT' })))));
    await expect(s.started).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(s.exited).rejects.toMatchObject({ code: 'ENOENT' });
    expect(s.state).toBe('failed');
    expect(s.done).toBe(true);
  });

  it('routes stdout and stderr, ends each at its StreamClose, resolves exited at StreamExit', async () => {
    const { s } = started();
    const out: string[] = [];
    const err: string[] = [];
    s.stdout.on('data', (d: Buffer) => out.push(d.toString()));
    s.stderr.on('data', (d: Buffer) => err.push(d.toString()));
    const ends = Promise.all([new Promise((r) => s.stdout.once('end', r)), new Promise((r) => s.stderr.once('end', r))]);
    s.onFrame(one(execFrames.data(7, Channel.Stdout, Buffer.from('a'))));
    s.onFrame(one(execFrames.data(7, Channel.Stderr, Buffer.from('b'))));
    s.onFrame(one(execFrames.close(7, Channel.Stderr)));
    s.onFrame(one(execFrames.data(7, Channel.Stdout, Buffer.from('c'))));
    s.onFrame(exitFrame({ exitCode: 3, signal: null, status: 3 }));
    await expect(s.exited).resolves.toEqual({ exitCode: 3, signal: null, status: 3 });
    await ends;
    expect(out.join('')).toBe('ac');
    expect(err.join('')).toBe('b');
    expect(s.state).toBe('exited');
    // late frames change nothing
    s.onFrame(one(execFrames.data(7, Channel.Stdout, Buffer.from('late'))));
    s.onFrame(exitFrame({ exitCode: 9, signal: null, status: 9 }));
    expect(out.join('')).toBe('ac');
  });

  it('timedOut is passed on', async () => {
    const { s } = started();
    s.onFrame(exitFrame({ exitCode: null, signal: 9, status: 137, timedOut: true }));
    await expect(s.exited).resolves.toEqual({ exitCode: null, signal: 9, status: 137, timedOut: true });
  });

  it('stdin: chunks of at most EXEC_CHUNK, StreamClose on end(), backpressure from the socket', async () => {
    const { s, link } = started();
    link.congested = true;
    let done = false;
    s.stdin.write(Buffer.alloc(EXEC_CHUNK + 10, 1), () => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // waits for the socket's drain
    const data = link.sent.filter((f) => f.type === FrameType.StreamData);
    expect(data.map((f) => [f.channel, f.payload.length])).toEqual([
      [Channel.Stdin, EXEC_CHUNK],
      [Channel.Stdin, 10],
    ]);
    link.drain();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
    await new Promise<void>((r) => s.stdin.end(r));
    expect(link.sent.at(-1)).toMatchObject({ type: FrameType.StreamClose, channel: Channel.Stdin, id: 7 });
  });

  it('stdin after the exit is dropped, without an error', async () => {
    const { s, link } = started();
    s.onFrame(exitFrame({ exitCode: 0, signal: null, status: 0 }));
    const n = link.sent.length;
    await new Promise<void>((r, j) => s.stdin.write('x', (e) => (e ? j(e) : r())));
    expect(link.sent.length).toBe(n);
  });

  it('a full consumer pauses the connection; reading resumes it', async () => {
    const { s, link } = started();
    s.onFrame(one(execFrames.data(7, Channel.Stdout, Buffer.alloc(70 * 1024))));
    expect(link.paused.has(7)).toBe(true);
    s.stdout.read();
    await new Promise((r) => setImmediate(r));
    expect(link.paused.has(7)).toBe(false);
  });

  it('an output that ends while full resumes the connection: no _read comes after the end', async () => {
    // the data that filled stdout and its StreamClose arrive in one chunk: the consumer reads to
    // the end, and the frames behind them (the exit, the next exec's answer) must still be read
    const { s, link } = started();
    s.onFrame(one(execFrames.data(7, Channel.Stdout, Buffer.alloc(70 * 1024))));
    expect(link.paused.has(7)).toBe(true);
    s.onFrame(one(execFrames.close(7, Channel.Stdout)));
    expect(link.paused.has(7)).toBe(false);
    let n = 0;
    for await (const chunk of s.stdout as AsyncIterable<Buffer>) n += chunk.length;
    expect(n).toBe(70 * 1024);
  });

  it('a consumer that destroys a full output resumes the connection', async () => {
    const { s, link } = started();
    s.onFrame(one(execFrames.data(7, Channel.Stderr, Buffer.alloc(70 * 1024))));
    expect(link.paused.has(7)).toBe(true);
    s.stderr.destroy();
    await new Promise((r) => setImmediate(r)); // 'close' follows a destroy on the next tick
    expect(link.paused.has(7)).toBe(false);
  });

  it('resize: an error without a tty (naming it); a StreamResize with one; checked sizes', () => {
    const { s } = started(false);
    expect(() => s.resize(80, 24)).toThrow(expect.objectContaining({ code: 'EINVALIDARG', field: 'tty', message: expect.stringMatching(/no tty/) }));
    const { s: t, link } = started(true);
    t.resize(100, 40);
    expect(link.sent.at(-1)?.type).toBe(FrameType.StreamResize);
    expect(decodeResize(link.sent.at(-1)!)).toEqual({ cols: 100, rows: 40 });
    expect(() => t.resize(100, 0)).toThrow(/rows/);
  });

  it('signal: an unknown name is refused before anything is sent; after the exit, ESRCH', async () => {
    const { s, link } = started();
    await expect(s.signal('SIGNOPE')).rejects.toThrow(/unknown signal/);
    expect(link.signals).toEqual([]);
    await s.signal('TERM');
    expect(link.signals).toEqual([[7, 'TERM']]);
    s.onFrame(exitFrame({ exitCode: null, signal: 15, status: 143 }));
    await expect(s.signal('KILL')).rejects.toMatchObject({ code: 'ESRCH' });
  });

  it('cancel sends StreamClose on channel 0; a broken connection fails the session', async () => {
    const { s, link } = started();
    s.cancel();
    expect(link.sent.at(-1)).toMatchObject({ type: FrameType.StreamClose, channel: Channel.Json });
    s.stdout.on('error', () => undefined);
    s.fail(new HullError('gone', { code: 'ENOTCONN' }));
    await expect(s.exited).rejects.toMatchObject({ code: 'ENOTCONN' });
    expect(s.state).toBe('failed');
  });

  it('an unexpected frame type fails the stream with EPROTO', async () => {
    const { s } = started();
    s.onFrame(one(encodeJson(FrameType.Hello, 7, {})));
    await expect(s.exited).rejects.toMatchObject({ code: 'EPROTO' });
  });
});
