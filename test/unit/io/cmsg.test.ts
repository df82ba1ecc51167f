/**
 * The SCM_RIGHTS helpers of the addon (native/core/cmsg.cc through recvFd/sendFd), checked
 * against an independent peer written in python: what runc's console-socket contract needs of
 * them, both ways, and that a bad message can never leak an fd into this process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../../lib/native';
import { O_CLOEXEC, PYTHON, PyBounce, fdCount, fdInfo, pySend } from '../../helpers/recvtty';

jest.setTimeout(10_000);

let dir: string;
let sockPath: string;
let listenFd: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `hull-test-${process.pid}-cmsg-`));
  sockPath = path.join(dir, 's.sock');
  listenFd = native().listenUnix(sockPath);
});

afterEach(() => {
  native().close(listenFd);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** accept + recvFd, with the connection closed whatever happens. */
function receive(): { fd: number; name: string } {
  const conn = native().accept(listenFd);
  try {
    return native().recvFd(conn);
  } finally {
    native().close(conn);
  }
}

describe('recvFd from an independent sender', () => {
  test('one fd: received close-on-exec, with the payload up to its NUL, and nothing else', () => {
    pySend(sockPath, { fds: 1, payload: '/dev/pts/7\0' });
    const before = fdCount();
    const got = receive();
    try {
      expect(got.name).toBe('/dev/pts/7');
      expect(fdCount()).toBe(before + 1);
      expect(fdInfo(got.fd).flags & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(fs.readlinkSync(`/proc/self/fd/${got.fd}`)).toBe('/dev/null');
    } finally {
      native().close(got.fd);
    }
  });

  test.each([
    ['two fds in one control message', { fds: 2 }],
    ['two fds in two control messages', { fds: 2, split: true }],
    ['20 fds, more than the receiver has room for (MSG_CTRUNC)', { fds: 20 }],
    ['no fd at all, only a payload', { fds: 0, payload: '/dev/pts/0\0' }],
  ])('%s: recvFd throws "expected exactly one fd", and every fd that arrived is closed', (_what, opts) => {
    pySend(sockPath, opts);
    const before = fdCount();
    let err: unknown;
    try {
      receive();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'EBADMSG', message: expect.stringContaining('expected exactly one fd') });
    expect(fdCount()).toBe(before);
  });

  test('a peer that closes without sending: recvFd throws, no fd appears', () => {
    const r = spawnSync(PYTHON, ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close()', sockPath]);
    expect(r.status).toBe(0);
    const before = fdCount();
    expect(() => receive()).toThrow(/expected exactly one fd/);
    expect(fdCount()).toBe(before);
  });
});

describe('sendFd to an independent receiver', () => {
  test('one sendmsg: exactly one SCM_RIGHTS fd (CMSG_LEN(sizeof(int))) and the NUL-terminated payload; sent back, recvFd gets the same file', async () => {
    const peer = new PyBounce(sockPath);
    try {
      await peer.connected();
      const conn = native().accept(listenFd);
      const file = path.join(dir, 'f');
      const fd = fs.openSync(file, 'w');
      try {
        native().sendFd(conn, fd, '/dev/pts/3');
        const seen = await peer.received();
        expect(seen).toMatchObject({ payload: '/dev/pts/3\0', cmsgs: [4], fds: 1, ino: [fs.statSync(file).ino] });
        expect(await peer.exited()).toBe(0);
        const before = fdCount();
        const back = native().recvFd(conn);
        expect(fdCount()).toBe(before + 1);
        expect(back.name).toBe('back');
        expect(fs.fstatSync(back.fd).ino).toBe(fs.statSync(file).ino);
        expect(fdInfo(back.fd).flags & O_CLOEXEC).toBe(O_CLOEXEC);
        native().close(back.fd);
      } finally {
        fs.closeSync(fd);
        native().close(conn);
      }
    } finally {
      peer.kill();
    }
  });
});
