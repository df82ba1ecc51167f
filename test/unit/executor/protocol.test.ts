import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXEC_COMMAND_FIELDS, validateExecCommand } from '../../../lib/executor/command';
import {
  Channel,
  FrameDecoder,
  FrameType,
  HEADER_SIZE,
  MAX_FRAME,
  decodeJson,
  encodeFrame,
  encodeJson,
  errorToMessage,
  messageToError,
  type RequestMessage,
} from '../../../lib/executor/protocol';
import type { ExecCommand } from '../../../lib/executor/types';
import { HullError } from '../../../lib/errors';

describe('frames', () => {
  it('encodes the header: length, type, channel, id', () => {
    const f = encodeFrame(FrameType.StreamData, 0x01020304, Buffer.from('abc'), Channel.Stdout);
    expect(f.length).toBe(HEADER_SIZE + 3);
    expect(f.readUInt32BE(0)).toBe(HEADER_SIZE - 4 + 3);
    expect(f[4]).toBe(FrameType.StreamData);
    expect(f[5]).toBe(Channel.Stdout);
    expect(f.readUInt32BE(6)).toBe(0x01020304);
    expect(f.subarray(HEADER_SIZE).toString()).toBe('abc');
  });

  it('decodes several frames from one chunk, and an empty payload', () => {
    const d = new FrameDecoder();
    const chunk = Buffer.concat([encodeJson(FrameType.Request, 1, { method: 'wait' }), encodeFrame(FrameType.StreamClose, 7), encodeJson(FrameType.Response, 1, null)]);
    const frames = d.push(chunk);
    expect(frames.map((f) => [f.type, f.id])).toEqual([
      [FrameType.Request, 1],
      [FrameType.StreamClose, 7],
      [FrameType.Response, 1],
    ]);
    expect(decodeJson(frames[0]!)).toEqual({ method: 'wait' });
    expect(decodeJson(frames[1]!)).toBeUndefined();
    expect(d.pending).toBe(0);
  });

  it('reassembles frames split anywhere, even one byte at a time', () => {
    const payloads = [{ a: 1 }, { b: 'x'.repeat(5000) }, { c: [1, 2, 3] }];
    const wire = Buffer.concat(payloads.map((p, i) => encodeJson(FrameType.StreamData, i + 1, p)));
    for (const step of [1, 3, 7, 4096]) {
      const d = new FrameDecoder();
      const got: unknown[] = [];
      for (let off = 0; off < wire.length; off += step) for (const f of d.push(wire.subarray(off, off + step))) got.push(decodeJson(f));
      expect(got).toEqual(payloads);
      expect(d.pending).toBe(0);
    }
  });

  it('holds a partial frame until the rest arrives', () => {
    const d = new FrameDecoder();
    const f = encodeJson(FrameType.Hello, 0, { magic: 'hull-executor', protocol: 1 });
    expect(d.push(f.subarray(0, 2))).toEqual([]);
    expect(d.push(f.subarray(2, 12))).toEqual([]);
    expect(d.pending).toBe(12);
    const [frame] = d.push(f.subarray(12));
    expect(decodeJson(frame!)).toEqual({ magic: 'hull-executor', protocol: 1 });
  });

  it('carries raw bytes on stream channels untouched', () => {
    const bytes = Buffer.from([0, 255, 10, 13, 0x80]);
    const [f] = new FrameDecoder().push(encodeFrame(FrameType.StreamData, 3, bytes, Channel.Stdin));
    expect(f!.channel).toBe(Channel.Stdin);
    expect(Buffer.compare(f!.payload, bytes)).toBe(0);
  });

  it('refuses a bad length', () => {
    const bad = Buffer.alloc(10);
    bad.writeUInt32BE(MAX_FRAME + 1, 0);
    expect(() => new FrameDecoder().push(bad)).toThrow(/bad frame length/);
    const short = Buffer.alloc(10);
    short.writeUInt32BE(2, 0);
    expect(() => new FrameDecoder().push(short)).toThrow(/bad frame length/);
  });

  it('round-trips a HullError with its fields', () => {
    const e = new HullError('invalid exec command: user: no user `x`', { code: 'ENOTFOUND', field: 'user', path: '/etc/passwd' });
    const [f] = new FrameDecoder().push(encodeJson(FrameType.Error, 9, errorToMessage(e)));
    const back = messageToError(decodeJson(f!));
    expect(back).toBeInstanceOf(HullError);
    expect(back.message).toBe(e.message);
    expect(back.code).toBe('ENOTFOUND');
    expect(back.field).toBe('user');
    expect(back.path).toBe('/etc/passwd');
  });
});

describe('ExecCommand on the wire', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-test-cmd-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Required<>: adding a field to ExecCommand without filling it here fails to compile
  const full = (): Required<ExecCommand> => ({
    cmd: '/bin/sh',
    args: ['-c', 'echo "$A" ü \u0000-free'],
    env: ['A=1', 'PATH=/usr/bin:/bin', 'EMPTY='],
    user: { uid: 65534, gid: 65534, additionalGids: [100, 65533] },
    taskDir: dir,
    resources: { memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 }, cpu: { shares: 512, quota: 50000, period: 100000 }, pids: { limit: 100 } },
    mounts: [{ source: '/srv/data', destination: '/data', readOnly: true, propagation: 'host-to-task' }],
    devices: [{ hostPath: '/dev/null', taskPath: '/dev/inserted-null', permissions: 'rw' }],
    capabilities: { allow: ['chown', 'net_raw'], capAdd: ['net_raw'], capDrop: ['kill'] },
    networkNamespace: '/var/run/netns/x',
    pidMode: 'host',
    ipcMode: 'private',
    stdout: path.join(dir, 'task.stdout'),
    stderr: path.join(dir, 'task.stderr'),
    logRotation: { maxFiles: 3, maxFileSizeMB: 0.5 },
    tty: false,
      noNewPrivileges: false,
  });

  it('every field survives encode → frames → decode, whatever the chunking', () => {
    const cmd = full();
    const wire = encodeJson(FrameType.Request, 42, { method: 'launch', params: { command: cmd } } satisfies RequestMessage);
    for (const step of [1, 5, wire.length]) {
      const d = new FrameDecoder();
      const frames = [];
      for (let off = 0; off < wire.length; off += step) frames.push(...d.push(wire.subarray(off, off + step)));
      expect(frames).toHaveLength(1);
      const req = decodeJson<RequestMessage>(frames[0]!);
      expect(req.method).toBe('launch');
      expect((req.params as { command: ExecCommand }).command).toStrictEqual(cmd);
    }
  });

  it('the field list both sides check names every field of ExecCommand', () => {
    expect(Object.keys(EXEC_COMMAND_FIELDS).sort()).toEqual(Object.keys(full()).sort());
  });

  it('an unknown field is refused, never dropped', () => {
    expect(() => validateExecCommand({ cmd: 'true', taskDir: dir, stdoutPath: '/x' }, 'universal')).toThrow(/stdoutPath: unknown field/);
  });
});
