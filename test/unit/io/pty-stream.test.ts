/**
 * PtyStream on real ptys made by an independent sender (python3 opens the pty, runs a command on
 * its slave side and sends the master over a unix socket, as a runtime does): data both ways,
 * backpressure, the end of the terminal (EIO), resize, and ownership of the fd.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PtyStream } from '../../../lib/io/pty-stream';
import { native } from '../../../lib/native';
import { O_NONBLOCK, TermOutput, destroyStreams, fdInfo, pySend } from '../../helpers/recvtty';

jest.setTimeout(10_000);

let dir: string;
let streams: PtyStream[] = [];
let children: number[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `hull-test-${process.pid}-pty-`));
});

afterEach(async () => {
  await destroyStreams(streams);
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone with its terminal
    }
  }
  streams = [];
  children = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A pty whose slave side runs `cmd` (host binaries); returns the master, received like a console. */
function openPty(cmd: string[]): { fd: number; name: string } {
  const sock = path.join(dir, `${streams.length}-${children.length}.sock`);
  const listenFd = native().listenUnix(sock);
  try {
    const sent = pySend(sock, { pty: cmd });
    if (sent.child) children.push(sent.child);
    const conn = native().accept(listenFd);
    try {
      return native().recvFd(conn);
    } finally {
      native().close(conn);
    }
  } finally {
    native().close(listenFd);
  }
}

function ptyStream(cmd: string[], opts?: ConstructorParameters<typeof PtyStream>[1]): { pty: PtyStream; out: TermOutput; fd: number } {
  const { fd } = openPty(cmd);
  const pty = new PtyStream(fd, opts);
  streams.push(pty);
  return { pty, out: new TermOutput(pty), fd };
}

function fdOpen(fd: number): boolean {
  return fs.existsSync(`/proc/self/fd/${fd}`);
}

test('what is written reaches the other side, and what it prints is read: cat echoes through the line discipline', async () => {
  const { pty, out, fd } = ptyStream(['cat']);
  expect(fdInfo(fd).flags & O_NONBLOCK).toBe(O_NONBLOCK);
  pty.write('hello\n');
  // the line discipline's echo, then cat's copy, both with ONLCR
  await out.until(/^hello\r\nhello\r\n$/);
});

test('EIO when the last holder of the other side exits: end and no error; the fd stays open until destroy (a write after close only fails its own callback)', async () => {
  const { pty, out, fd } = ptyStream(['sh', '-c', 'read line; echo "got $line"']);
  const events: string[] = [];
  pty.on('error', (e) => events.push(`error ${e.message}`));
  pty.on('close', () => events.push(`close fd-open=${fdOpen(fd)}`));
  const ended = new Promise<void>((r) =>
    pty.on('end', () => {
      events.push('end');
      r();
    }),
  );
  pty.write('x\n');
  await ended;
  expect(out.text).toContain('got x\r\n');
  // closing the master would hang the terminal up: that is the owner's call, after the exit
  await new Promise((r) => setTimeout(r, 50));
  expect(events).toEqual(['end']);
  expect(fdOpen(fd)).toBe(true);
  expect(pty.write('dropped\n')).toBe(true); // the other side has gone: input is dropped
  await new Promise<void>((r) => {
    pty.once('close', () => r());
    pty.destroy();
  });
  expect(events).toEqual(['end', 'close fd-open=false']);
  expect(pty.write('late\n', (e) => events.push(`late write: ${(e as NodeJS.ErrnoException | null | undefined)?.code ?? 'ok'}`))).toBe(false);
  await new Promise((r) => setImmediate(r));
  expect(events.slice(2)).toEqual(['late write: ERR_STREAM_DESTROYED']);
});

test('the master stays open while a process that closed its terminal lives on: no hang-up, no SIGHUP', async () => {
  // the shell closes its terminal fds, then lives on: EIO comes long before it exits. Closing the
  // master then would hang the terminal up, and the session (the shell, the sleep) would get SIGHUP
  const hup = path.join(dir, 'hup');
  const done = path.join(dir, 'done');
  const { pty, fd } = ptyStream(['sh', '-c', `trap 'echo hup > ${hup}' HUP; exec 0<&- 1>&- 2>&-; sleep 0.3; echo done > ${done}`]);
  await new Promise<void>((r) => {
    pty.on('end', () => r());
    pty.resume();
  });
  expect(fdOpen(fd)).toBe(true);
  for (let i = 0; i < 100 && !fs.existsSync(done); i++) await new Promise((r) => setTimeout(r, 20));
  expect(fs.existsSync(done)).toBe(true);
  expect(fs.existsSync(hup)).toBe(false);
});

test('backpressure: write() returns false above the highWaterMark, the event loop keeps running, drain comes once the other side reads, nothing is lost', async () => {
  const size = 256 * 1024;
  // raw and no echo: the bytes arrive as they are; the reader starts only after a second
  const { pty, out } = ptyStream(['sh', '-c', `stty raw -echo; echo ready; sleep 1; head -c ${size} | wc -c`], { writableHighWaterMark: 4096 });
  await out.until(/ready/);
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  const started = Date.now();
  try {
    expect(pty.write(Buffer.alloc(size, 'a'))).toBe(false);
    expect(pty.writableLength).toBeGreaterThan(4096);
    // while the pty is full, timers still fire: nothing blocks on the fd
    await new Promise((r) => setTimeout(r, 300));
    expect(ticks).toBeGreaterThan(10);
    expect(pty.writableLength).toBeGreaterThan(0);
    await new Promise((r) => pty.once('drain', r));
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await out.until(new RegExp(`\\b${size}\\b`));
  } finally {
    clearInterval(iv);
  }
});

test('resize: the other side sees the new size (stty size); bad sizes are refused, naming the argument', async () => {
  const { pty, out } = ptyStream(['sh', '-c', 'read x; stty size']);
  for (const [cols, rows, field] of [
    [0, 24, 'cols'],
    [80, 0, 'rows'],
    [65536, 24, 'cols'],
    [80, 70000, 'rows'],
    [80.5, 24, 'cols'],
    [Number.NaN, 24, 'cols'],
    [80, -1, 'rows'],
  ] as const) {
    expect(() => pty.resize(cols, rows)).toThrow(expect.objectContaining({ code: 'EINVALIDARG', field, message: expect.stringContaining(`resize: ${field}: expected an integer from 1 to 65535`) }));
  }
  expect(() => pty.resize('80' as unknown as number, 24)).toThrow(/cols/);
  pty.resize(123, 45);
  pty.write('\n');
  await out.until(/45 123\r\n/);
});

test('destroy closes the fd exactly once: a second destroy does not close the number reused meanwhile', async () => {
  const { pty, fd } = ptyStream(['cat']);
  const closed = new Promise((r) => pty.once('close', r));
  pty.destroy();
  pty.destroy();
  await closed;
  expect(fdOpen(fd)).toBe(false);
  // open /dev/null until the freed number comes back (lower free numbers are handed out first)
  const opened: number[] = [];
  try {
    while (!opened.includes(fd) && opened.length < 1000) opened.push(fs.openSync('/dev/null', 'r'));
    expect(opened).toContain(fd);
    pty.destroy();
    await new Promise((r) => setImmediate(r));
    expect(() => pty.resize(80, 24)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('/dev/null');
  } finally {
    for (const f of opened) fs.closeSync(f);
  }
});

test('an fd that is not a pty master is refused and left open', () => {
  const fd = fs.openSync('/dev/null', 'r');
  try {
    expect(() => new PtyStream(fd)).toThrow(expect.objectContaining({ code: 'EINVALIDARG', message: `pty: fd ${fd} is not a pty master` }));
    expect(fdOpen(fd)).toBe(true);
  } finally {
    fs.closeSync(fd);
  }
});
