/**
 * The console socket (runc's --console-socket contract, as conmon and containerd's shim use it):
 * `hull create` with a terminal config sends the pty master of a pty made in the container's own
 * devpts, in one message, as the only fd, named in the payload. Received by hull's own helper and
 * by an independent python receiver; then the terminal is driven through the master. Also the
 * relay of `hull run` without a socket, and the refusals.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { PtyStream } from '../../lib/io/pty-stream';
import { native } from '../../lib/native';
import { HULL_BIN, type HullResult, describeContainers, ok, settledLeftovers, statFields } from '../helpers/host';
import { ConsoleReceiver, O_CLOEXEC, PythonReceiver, TermOutput, destroyStreams, fdCount, fdInfo } from '../helpers/recvtty';
import { type Bundle, addApplets } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

/** tty_nr of /proc/<pid>/stat for /dev/pts/0: major 136, minor 0 (new_encode_dev) */
const PTS0_TTY_NR = 136 << 8;

let receivers: ConsoleReceiver[] = [];
let pyReceivers: PythonReceiver[] = [];
let streams: PtyStream[] = [];
let fds: number[] = [];

const suite = containerSuite({
  removeWith: 'cli',
  // what the test holds of its containers' terminals, before the containers go
  release: async () => {
    await destroyStreams(streams);
    for (const fd of fds) native().close(fd);
    for (const r of receivers) r.close();
    for (const r of pyReceivers) await r.close();
    receivers = [];
    pyReceivers = [];
    streams = [];
    fds = [];
  },
});

/** A busybox bundle with process.terminal set, and the tty and stty applets. */
function ttyBundle(args: string[], terminal = true): Bundle {
  const b = suite.bundle(args, (s) => {
    s.process!.terminal = terminal;
  });
  addApplets(b, ['tty', 'stty']);
  return b;
}

function cli(args: string[]): HullResult {
  return suite.cli(args);
}

function receiver(): ConsoleReceiver {
  const r = new ConsoleReceiver();
  receivers.push(r);
  return r;
}

function initPid(id: string): number {
  return suite.recorded(id)!.pid;
}

function hostPts(): string[] {
  return fs.readdirSync('/dev/pts').sort();
}

describeContainers('hull create --console-socket', () => {
  test('hull\'s receiver gets exactly one fd, named /dev/pts/0: a pty master (tty-index 0), close-on-exec from the start', () => {
    const b = ttyBundle(['sh']);
    const id = suite.newId('cons');
    const rcv = receiver();
    ok(cli(['create', '--console-socket', rcv.path, '-b', b.dir, id]));
    const before = fdCount();
    const got = rcv.receive();
    fds.push(got.fd);
    // the accepted connection is closed again: one fd more means exactly one arrived
    expect(fdCount()).toBe(before + 1);
    expect(got.name).toBe('/dev/pts/0');
    expect(tty.isatty(got.fd)).toBe(true);
    const info = fdInfo(got.fd);
    expect(info.ttyIndex).toBe(0);
    expect(info.flags & O_CLOEXEC).toBe(O_CLOEXEC);
    // the master of the container's /dev/ptmx: its devpts' ptmx, not the host's /dev/ptmx
    expect(fs.readlinkSync(`/proc/self/fd/${got.fd}`)).toBe('/dev/pts/ptmx');
  });

  test('the pty is the init\'s stdio and controlling terminal, in the container\'s own devpts; a resize shows in stty size', async () => {
    const b = ttyBundle(['sh']);
    const id = suite.newId('cons');
    const rcv = receiver();
    const hostBefore = hostPts();
    ok(cli(['create', '--console-socket', rcv.path, '-b', b.dir, id]));
    const pty = new PtyStream(rcv.receive().fd);
    streams.push(pty);
    const out = new TermOutput(pty);
    const pid = initPid(id);
    ok(cli(['start', id]));
    pty.write('echo hi; tty\n');
    await out.until(/\r\nhi\r\n\/dev\/pts\/0\r\n/);

    for (const n of [0, 1, 2]) expect(fs.readlinkSync(`/proc/${pid}/fd/${n}`)).toBe('/dev/pts/0');
    const [, , , session, ttyNr] = statFields(pid);
    expect(Number(session)).toBe(pid); // a session leader ...
    expect(Number(ttyNr)).toBe(PTS0_TTY_NR); // ... with pts 0 as its controlling terminal
    // its own devpts instance, with only this pty in it; the host's /dev/pts got no entry for it
    expect(fs.statSync(`/proc/${pid}/root/dev/pts`).dev).not.toBe(fs.statSync('/dev/pts').dev);
    expect(fs.readdirSync(`/proc/${pid}/root/dev/pts`).sort()).toEqual(['0', 'ptmx']);
    // whatever else on the host made a pty meanwhile, no new host entry is this pty
    const mine = fs.statSync(`/proc/${pid}/root/dev/pts/0`);
    for (const e of hostPts().filter((n) => !hostBefore.includes(n))) {
      const st = fs.statSync(path.join('/dev/pts', e));
      expect([e, st.dev, st.ino]).not.toEqual([e, mine.dev, mine.ino]);
    }

    pty.resize(123, 45);
    pty.write('stty size\n');
    await out.until(/\r\n45 123\r\n/);
    pty.resize(80, 24);
    pty.write('stty size\n');
    await out.until(/\r\n24 80\r\n/);
  });

  test('an independent receiver (python, as conmon checks it): one SCM_RIGHTS cmsg of one int, the NUL-terminated name, a pty master whose peer is not the host\'s; it drives the shell', async () => {
    const b = ttyBundle(['sh']);
    const id = suite.newId('conmon');
    const py = await PythonReceiver.listen();
    pyReceivers.push(py);
    ok(cli(['create', '--console-socket', py.path, '-b', b.dir, id]));
    const rep = await py.report();
    expect(rep).toMatchObject({
      cmsgs: [{ level: rep.scmRights.level, type: rep.scmRights.type, len: 4 }],
      fds: 1,
      ctrunc: false,
      payload: '/dev/pts/0\0',
      isatty: true,
      ttyIndex: 0,
      ptn: 0,
    });
    // the peer lives in the container's devpts: no host /dev/pts entry is that file
    const hostDev = fs.statSync('/dev/pts').dev;
    expect(rep.peer.dev).not.toBe(hostDev);
    for (const e of hostPts()) {
      const st = fs.statSync(path.join('/dev/pts', e));
      expect([st.dev, st.ino]).not.toEqual([rep.peer.dev, rep.peer.ino]);
    }
    ok(cli(['start', id]));
    const talk = await py.converse('echo hi; tty\n', String.raw`\r\nhi\r\n/dev/pts/0\r\n`);
    expect(talk).toMatchObject({ matched: true });
  });

  test('a config without a terminal refuses --console-socket, and a terminal config without one is refused; naming process.terminal, leaving nothing', async () => {
    const rcv = receiver();
    const noTerm = ttyBundle(['true'], false);
    const id1 = suite.newId('noterm');
    const r1 = cli(['create', '--console-socket', rcv.path, '-b', noTerm.dir, id1]);
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toMatch(/^hull: [^\n]*process\.terminal[^\n]*\n$/);
    expect(await settledLeftovers(id1, { root: suite.root.dir, bundle: noTerm.dir })).toEqual([]);

    const term = ttyBundle(['true'], true);
    const id2 = suite.newId('nosock');
    const r2 = cli(['create', '-b', term.dir, id2]);
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/^hull: [^\n]*process\.terminal[^\n]*\n$/);
    expect(await settledLeftovers(id2, { root: suite.root.dir, bundle: term.dir })).toEqual([]);
  });

  test('a console socket nobody listens on: create fails with connect `PATH`, and leaves nothing', async () => {
    const t = suite.dir('sock');
    const b = ttyBundle(['sh']);
    // no such file
    const missing = path.join(t.dir, 'missing.sock');
    const id1 = suite.newId('nolisten');
    const r1 = cli(['create', '--console-socket', missing, '-b', b.dir, id1]);
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toBe(`hull: connect \`${missing}\`: no such file or directory\n`);
    expect(await settledLeftovers(id1, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
    // a socket file left behind by a listener that has gone
    const stale = path.join(t.dir, 'stale.sock');
    native().close(native().listenUnix(stale));
    const id2 = suite.newId('stale');
    const r2 = cli(['create', '--console-socket', stale, '-b', b.dir, id2]);
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toBe(`hull: connect \`${stale}\`: connection refused\n`);
    expect(await settledLeftovers(id2, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
  });
});

describeContainers('hull run with a terminal and no console socket', () => {
  test('relays the container\'s pty to hull\'s own terminal (under script): CRLF once, the exit status, and the terminal mode restored', () => {
    if (!fs.existsSync('/usr/bin/script')) throw new Error('script(1) is missing: apt-get install bsdutils');
    const b = ttyBundle(['sh', '-c', 'echo hi; tty; exit 3']);
    const id = suite.newId('relay');
    const hullCmd = [process.execPath, HULL_BIN, '--root', suite.root.dir, 'run', '-b', b.dir, id].map((a) => `'${a}'`).join(' ');
    // script's stdin must not reach EOF: script would type an EOF into its pty, which the relay
    // forwards and the container's line discipline echoes. A fifo open for reading and writing never does.
    const t = suite.dir('script');
    native().mkfifo(path.join(t.dir, 'stdin'), 0o600);
    const stdin = fs.openSync(path.join(t.dir, 'stdin'), fs.constants.O_RDWR);
    let r;
    try {
      r = spawnSync('/usr/bin/script', ['-qec', `stty -g; ${hullCmd}; echo "rc=$?"; stty -g`, '/dev/null'], {
        encoding: 'latin1',
        timeout: 8000,
        stdio: [stdin, 'pipe', 'pipe'],
      });
    } finally {
      fs.closeSync(stdin);
    }
    expect(r.stderr).toBe('');
    const out = r.stdout;
    // the container's pty made "\n" a "\r\n"; the relay passed it through as it is (cfmakeraw), as runc does
    expect(out).toMatch(/(^|\n)hi\r\n\/dev\/pts\/0\r\n/);
    expect(out).not.toContain('\r\r\n');
    expect(out).toMatch(/rc=3\r\n/);
    const modes = out.split('\r\n').filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
    expect(modes).toHaveLength(2);
    expect(modes[1]).toBe(modes[0]);
    expect(fs.existsSync(path.join(suite.root.dir, id))).toBe(false);
  });
});
