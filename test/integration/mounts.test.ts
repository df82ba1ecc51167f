/**
 * Task volumes on the real kernel: propagation (private, host-to-task, bidirectional) seen from
 * both sides, read-only enforcement, and symlink escapes of mount destinations.
 *
 * The host side never touches the propagation of the host's own mounts: each test bind-mounts a
 * fresh directory T under the tmpdir onto itself and makes that new mount rshared (a new peer
 * group, so nothing propagates anywhere else), and T/vol is the volume source. The task's view
 * is /proc/<init pid>/mountinfo, read from the host: it lists the task's mount namespace, with
 * mount points relative to the task's root.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container } from '../../lib/container/container';
import type { Spec } from '../../lib/oci/schema';
import { computeCapabilities } from '../../lib/task/capabilities';
import { type TaskVolume, volumeToMount } from '../../lib/task/volumes';
import { describeContainers, mountsMentioning, waitFor } from '../helpers/host';
import { type MountLine, parseMountinfo } from '../helpers/parse';
import { uniqueId } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

/** The init of the long-running tasks: it loops until the host creates /stop in its rootfs. */
const LOOP = 'while :; do sleep 0.2; [ -e /stop ] && exit 0; done';

/** What a test did to the host itself, undone or checked after it. */
interface HostMade {
  /** host mount points to detach, in reverse order */
  mounts: string[];
  /** host paths that must not exist after the test (escape targets) */
  mustNotExist: string[];
}

let made: HostMade;

const suite = containerSuite({
  removeWith: 'library',
  moreLeftovers: () => {
    // lazy: T takes every mount under it (the host's, and those the task propagated) with it
    for (const point of [...made.mounts].reverse()) {
      try {
        execFileSync('umount', ['-l', point], { stdio: 'ignore' });
      } catch {
        // already gone with its parent
      }
    }
    const left: string[] = [];
    for (const t of suite.dirs) left.push(...mountsMentioning(t.dir).map((l) => `mount ${l}`));
    for (const p of made.mustNotExist) if (fs.existsSync(p)) left.push(`path ${p}`);
    return left;
  },
});

beforeEach(() => {
  made = { mounts: [], mustNotExist: [] };
});

function host(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr || err.message}`);
  }
}

/** Mounts on the host, and remembers the mount point for afterEach. */
function hostMount(args: string[], point: string): void {
  host('mount', [...args, point]);
  made.mounts.push(point);
}

interface Shared {
  /** T: a new rshared bind mount of a fresh directory */
  top: string;
  /** T/vol, the volume source, with sub/ and fromtask/ in it */
  vol: string;
}

/** T bind-mounted onto itself and made rshared: the host-side peer group of the volume. */
function sharedDir(): Shared {
  const t = suite.dir('vol');
  hostMount(['--bind', t.dir], t.dir);
  host('mount', ['--make-rshared', t.dir]);
  const vol = path.join(t.dir, 'vol');
  for (const d of ['', 'sub', 'fromtask']) fs.mkdirSync(path.join(vol, d), { recursive: true });
  return { top: t.dir, vol };
}

/** Creates and starts a container; gives it and its init's host pid. */
async function startTask(args: string[], edit?: (s: Spec) => void) {
  const { c, bundle, io } = await suite.create(args, { edit, tag: 'm' });
  c.start();
  return { c, pid: c.pid, bundle, io };
}

function run(args: string[], edit?: (s: Spec) => void) {
  return suite.run(args, { edit, tag: 'r' });
}

/** The task's mounts, from the host. */
function taskMounts(pid: number): MountLine[] {
  return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

function hostMounts(): MountLine[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** A tmpfs source name that marks a mount as this test's: it shows in mountinfo's source field. */
function marker(tag: string): string {
  return uniqueId(tag);
}

function withVolume(v: TaskVolume, more?: (s: Spec) => void): (s: Spec) => void {
  return (s) => {
    s.mounts!.push(volumeToMount(v, 0));
    more?.(s);
  };
}

/** The task mounts a tmpfs from inside its own mount namespace: nsenter from the host. */
function mountInTask(pid: number, source: string, point: string): void {
  // setns(CLONE_NEWNS) moves nsenter's root to the namespace's root: /bin/mount is busybox's
  host('nsenter', ['-t', String(pid), '-m', '/bin/mount', '-t', 'tmpfs', source, point]);
}

describeContainers('task volumes: propagation', () => {
  test('private: a host mount made after start is not seen in the task, nor the task\'s on the host', async () => {
    const { vol } = sharedDir();
    const { pid } = await startTask(['sh', '-c', LOOP], withVolume({ source: vol, destination: '/vol', propagation: 'private' }));
    const volLine = taskMounts(pid).find((m) => m.point === '/vol');
    expect(volLine).toBeDefined();
    // private: no peer group, no master
    expect(volLine!.optional.filter((o) => /^(shared|master):/.test(o))).toEqual([]);

    const fromHost = marker('host');
    hostMount(['-t', 'tmpfs', fromHost], path.join(vol, 'sub'));
    expect(hostMounts().some((m) => m.point === path.join(vol, 'sub') && m.source === fromHost)).toBe(true);
    expect(taskMounts(pid).filter((m) => m.source === fromHost || m.point === '/vol/sub')).toEqual([]);

    const fromTask = marker('task');
    mountInTask(pid, fromTask, '/vol/fromtask');
    expect(taskMounts(pid).some((m) => m.point === '/vol/fromtask' && m.source === fromTask)).toBe(true);
    expect(hostMounts().filter((m) => m.source === fromTask || m.point === path.join(vol, 'fromtask'))).toEqual([]);
  });

  test('host-to-task: the host\'s new mount is seen in the task, the task\'s is not seen on the host', async () => {
    const { vol } = sharedDir();
    const { pid } = await startTask(['sh', '-c', LOOP], withVolume({ source: vol, destination: '/vol', propagation: 'host-to-task' }));
    const volLine = taskMounts(pid).find((m) => m.point === '/vol');
    expect(volLine?.optional.some((o) => o.startsWith('master:'))).toBe(true);
    expect(volLine?.optional.some((o) => o.startsWith('shared:'))).toBe(false);

    const fromHost = marker('host');
    hostMount(['-t', 'tmpfs', fromHost], path.join(vol, 'sub'));
    expect(taskMounts(pid).filter((m) => m.source === fromHost).map((m) => m.point)).toEqual(['/vol/sub']);

    const fromTask = marker('task');
    mountInTask(pid, fromTask, '/vol/fromtask');
    expect(taskMounts(pid).some((m) => m.point === '/vol/fromtask' && m.source === fromTask)).toBe(true);
    expect(hostMounts().filter((m) => m.source === fromTask || m.point === path.join(vol, 'fromtask'))).toEqual([]);
  });

  test('bidirectional: both are seen; the task mounts with CAP_SYS_ADMIN, granted through capAdd', async () => {
    const { vol } = sharedDir();
    // a mount already under the source at start comes along: the bind is recursive (Nomad's
    // bidirectional bind was not, #24519)
    const before = marker('pre');
    fs.mkdirSync(path.join(vol, 'pre'));
    hostMount(['-t', 'tmpfs', before], path.join(vol, 'pre'));
    const fromTask = marker('task');
    // the task's own process mounts, as soon as it runs, then loops
    const script = `mount -t tmpfs ${fromTask} /vol/fromtask || echo mount failed >&2; ${LOOP}`;
    const { c, pid, io } = await startTask(
      ['sh', '-c', script],
      withVolume({ source: vol, destination: '/vol', propagation: 'bidirectional' }, (s) => {
        s.process!.capabilities = computeCapabilities({ uid: 0, allow: ['all'], add: ['SYS_ADMIN'] });
      }),
    );
    const hostSide = await waitFor('the task\'s mount on the host', () =>
      hostMounts().find((m) => m.source === fromTask),
    ).catch((e: Error) => {
      throw new Error(`${e.message}; task stderr: ${io.err()}`);
    });
    expect(hostSide.point).toBe(path.join(vol, 'fromtask'));
    expect(taskMounts(pid).filter((m) => m.source === before).map((m) => m.point)).toEqual(['/vol/pre']);
    expect(taskMounts(pid).some((m) => m.point === '/vol/fromtask' && m.source === fromTask)).toBe(true);

    const fromHost = marker('host');
    hostMount(['-t', 'tmpfs', fromHost], path.join(vol, 'sub'));
    expect(taskMounts(pid).filter((m) => m.source === fromHost).map((m) => m.point)).toEqual(['/vol/sub']);
    // what the host writes in its new mount, the task reads
    fs.writeFileSync(path.join(vol, 'sub', 'hello'), 'from the host\n');
    expect(fs.readFileSync(`/proc/${pid}/root/vol/sub/hello`, 'utf8')).toBe('from the host\n');

    // the end of the task's mount namespace unmounts nothing of the host's: its own copies go
    // without propagating, and what it exported stays until the host unmounts it
    await c.delete(true);
    const after = hostMounts();
    expect(after.filter((m) => [fromHost, before, fromTask].includes(m.source)).map((m) => m.point).sort()).toEqual(
      [path.join(vol, 'sub'), path.join(vol, 'pre'), path.join(vol, 'fromtask')].sort(),
    );
  });

  test('the task\'s mounts reach the host only through a bidirectional volume: nowhere else', async () => {
    const { vol, top } = sharedDir();
    const fromTask = marker('task');
    const script = `mount -t tmpfs ${fromTask} /mnt && mkdir -p /vol/x && echo ok; ${LOOP}`;
    const { io } = await startTask(
      ['sh', '-c', script],
      withVolume({ source: vol, destination: '/vol', propagation: 'bidirectional' }, (s) => {
        s.process!.capabilities = computeCapabilities({ uid: 0, allow: ['all'], add: ['SYS_ADMIN'] });
      }),
    );
    await waitFor('the task\'s mount', () => io.out().includes('ok'));
    expect(hostMounts().filter((m) => m.source === fromTask)).toEqual([]);
    expect(hostMounts().filter((m) => m.point.startsWith(top)).map((m) => m.point)).toEqual([top]);
  });
});

describeContainers('task volumes: read-only and writes', () => {
  test('a read-only volume refuses writes (EROFS); a read-write one takes them', async () => {
    const { vol } = sharedDir();
    fs.writeFileSync(path.join(vol, 'data'), 'host data\n');
    const ro = await run(['sh', '-c', 'cat /vol/data; touch /vol/x; echo rc=$?'], withVolume({ source: vol, destination: '/vol', readOnly: true }));
    expect(ro.out).toBe('host data\nrc=1\n');
    expect(ro.err).toMatch(/Read-only file system/);
    expect(fs.existsSync(path.join(vol, 'x'))).toBe(false);

    const rw = await run(['sh', '-c', 'echo from task > /vol/y; echo rc=$?'], withVolume({ source: vol, destination: '/vol' }));
    expect(rw.out).toBe('rc=0\n');
    expect(fs.readFileSync(path.join(vol, 'y'), 'utf8')).toBe('from task\n');
  });

  test('read-only and host-to-task together: the host\'s mounts still arrive, the task still cannot write', async () => {
    const { vol } = sharedDir();
    const { pid } = await startTask(['sh', '-c', LOOP], withVolume({ source: vol, destination: '/vol', readOnly: true, propagation: 'host-to-task' }));
    const volLine = taskMounts(pid).find((m) => m.point === '/vol');
    expect(volLine).toBeDefined();
    const text = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    expect(text.split('\n').find((l) => l.split(' ')[4] === '/vol')?.split(' ')[5]).toMatch(/^ro(,|$)/);
    // through the task's root, even the host's root meets the read-only mount
    expect(() => fs.writeFileSync(`/proc/${pid}/root/vol/x`, 'x')).toThrow(/EROFS/);
    expect(fs.existsSync(path.join(vol, 'x'))).toBe(false);
    const fromHost = marker('host');
    hostMount(['-t', 'tmpfs', fromHost], path.join(vol, 'sub'));
    expect(taskMounts(pid).some((m) => m.point === '/vol/sub' && m.source === fromHost)).toBe(true);
  });
});

describeContainers('mount destinations through symlinks', () => {
  /**
   * The rootfs has a link `escape` that points out of it; the config mounts a volume on
   * /escape/target. hull resolves the destination with RESOLVE_IN_ROOT: the mount lands inside
   * the rootfs, or create fails. Either way nothing is mounted, or created, outside the rootfs.
   */
  async function escapeAttempt(link: (outside: string) => string) {
    const { vol } = sharedDir();
    const outside = suite.dir('outside').dir;
    made.mustNotExist.push(path.join(outside, 'target'));
    const rootTargetExisted = fs.existsSync('/target');
    if (!rootTargetExisted) made.mustNotExist.push('/target');

    const b = suite.bundle(['sh', '-c', LOOP], withVolume({ source: vol, destination: '/escape/target' }));
    fs.symlinkSync(link(outside), path.join(b.rootfs, 'escape'));
    const before = new Set(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n'));
    const id = suite.newId('esc');
    const io = suite.captureIo();
    let c: Container | undefined;
    let error: unknown;
    try {
      c = await Container.create({ id, bundle: b.dir, root: suite.root.dir, stdio: io.stdio });
      suite.track(c);
    } catch (e) {
      error = e;
    } finally {
      io.close();
    }
    const after = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    // no new host mount of the volume, or at the outside directory, or at /target
    const mine = (l: string) => l.includes(vol) || l.includes(outside) || / \/target /.test(l);
    expect(after.filter((l) => !before.has(l) && mine(l))).toEqual([]);
    expect(fs.existsSync(path.join(outside, 'target'))).toBe(false);
    if (!rootTargetExisted) expect(fs.existsSync('/target')).toBe(false);
    return { c, error, b, vol, outside };
  }

  test('an absolute link (escape -> /): the mount lands in the rootfs', async () => {
    const { c, error, b, vol } = await escapeAttempt(() => '/');
    expect(error).toBeUndefined();
    c!.start();
    const inTask = taskMounts(c!.pid).filter((m) => m.point === '/target');
    expect(inTask).toHaveLength(1);
    // the mount point the kernel shows is inside the rootfs: rootfs/target on the host
    expect(fs.statSync(path.join(b.rootfs, 'target')).isDirectory()).toBe(true);
    // and it is the volume: what the task's /target holds is in the host's volume directory
    fs.writeFileSync(`/proc/${c!.pid}/root/target/seen`, 'x');
    expect(fs.existsSync(path.join(vol, 'seen'))).toBe(true);
  });

  test('a relative link with .. (escape -> ../../../..<outside>): created inside or refused, nothing outside', async () => {
    const { c, error, b, outside } = await escapeAttempt((outside) => `${'../'.repeat(12)}${outside.slice(1)}`);
    if (error) {
      // `..` stops at the rootfs: /escape is a dangling link to rootfs/<outside>, which hull cannot
      // create through the link, so create fails naming the destination
      expect(String((error as Error).message)).toMatch(/`\/escape`/);
    } else {
      c!.start();
      // `..` stopped at the rootfs: the link led to rootfs/<outside>, and the mount is there
      expect(taskMounts(c!.pid).map((m) => m.point)).toContain(path.join(outside, 'target'));
      expect(fs.existsSync(path.join(b.rootfs, outside, 'target'))).toBe(true);
    }
  });
});
