/**
 * The library API end to end, in this process: Container.create/start/kill/wait/delete and
 * runContainer on a busybox bundle, each checked against what the kernel shows inside the
 * container (/proc/self/status, mountinfo, ...) and against what is left on the host after.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from '../../lib/errors';
import { DEFAULT_CAPABILITIES } from '../../lib/oci/capabilities';
import { capMask } from '../../lib/container/plan';
import type { Spec } from '../../lib/oci/schema';
import { alive, catchesSignal, describeContainers, pidsInCgroupsNamed, settledLeftovers, waitFor } from '../helpers/host';
import { DEFAULT_CAP_HEX, NO_CAPS, mountPoints, parseMountinfo, statusFields } from '../helpers/parse';
import { bundleSpec } from '../helpers/rootfs';
import { type Ran, containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

const suite = containerSuite({ removeWith: 'library' });

/** Runs a bundle to its exit with runContainer, and gives its exit and output. */
function run(args: string[], edit?: (s: Spec) => void): Promise<Ran> {
  return suite.run(args, { edit, tag: 'run' });
}

/** Runs a shell script and expects exit 0; gives stdout. */
async function sh(script: string, edit?: (s: Spec) => void): Promise<string> {
  const r = await run(['sh', '-c', script], edit);
  if (r.exit.status !== 0) throw new Error(`script exited ${r.exit.status}: ${r.err}`);
  return r.out;
}

function create(args: string[], edit?: (s: Spec) => void, extra: { pidFile?: string } = {}) {
  return suite.create(args, { edit, tag: 'c', ...extra });
}

describeContainers('a container from a busybox bundle (library API)', () => {
  test('its init is pid 1 of a new pid namespace and runs process.args', async () => {
    // not the last command: busybox sh would exec that one in its own place, as pid 1
    const script = 'echo $$; cat /proc/1/cmdline; exit 0';
    const out = await sh(script);
    expect(out).toBe(`1\nsh\0-c\0${script}\0`);
  });

  test('its hostname is the config\'s', async () => {
    const out = await sh('hostname', (s) => {
      s.hostname = 'lifecycle-box';
    });
    expect(out).toBe('lifecycle-box\n');
  });

  test('its mounts are the config\'s and nothing of the host', async () => {
    const out = await sh('cat /proc/self/mountinfo');
    const points = mountPoints(out);
    for (const p of ['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) expect(points).toContain(p);
    // besides those, only the masked and read-only paths of the default spec and the cgroup hierarchies
    const spec = bundleSpec();
    const allowed = new Set([...(spec.linux?.maskedPaths ?? []), ...(spec.linux?.readonlyPaths ?? [])]);
    const others = points.filter((p) => !['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'].includes(p));
    for (const p of others) {
      if (!p.startsWith('/sys/fs/cgroup/')) expect(allowed).toContain(p);
    }
    // no host mount point (/work, /run/hull, the tmpdir, the host's own mounts) is seen. Field 4 of
    // `/` is the rootfs's path within its filesystem, which the kernel shows for any bind mount
    // (runc's containers show the same), so mount points and sources are what is checked.
    for (const { point, source } of parseMountinfo(out)) {
      for (const host of ['/work', '/run/hull', '/mnt/', path.dirname(suite.root.dir)]) {
        expect(point.startsWith(host)).toBe(false);
        expect(source.startsWith(host)).toBe(false);
      }
    }
  });

  test('masked paths read empty and read-only paths refuse writes', async () => {
    const out = await sh(
      [
        'echo keys=$(wc -c < /proc/keys)',
        'echo firmware=$(ls -A /sys/firmware | wc -l)',
        '[ -e /proc/kcore ] && echo kcore=$(wc -c < /proc/kcore) || echo kcore=absent',
        'if echo evil > /proc/sys/kernel/hostname; then echo sysctl=written; else echo sysctl=refused; fi',
        'if touch /proc/sysrq-trigger; then echo sysrq=written; else echo sysrq=refused; fi',
        'hostname',
      ].join('\n'),
    );
    expect(out).toContain('keys=0\n');
    expect(out).toContain('firmware=0\n');
    expect(out).toContain(fs.existsSync('/proc/kcore') ? 'kcore=0\n' : 'kcore=absent\n');
    expect(out).toContain('sysctl=refused\n');
    expect(out).toContain('sysrq=refused\n');
    expect(out).toMatch(/\nhull-test\n$/);
  });

  test('as 65534:65534 without additionalGids it has no supplementary group, not even 0', async () => {
    const out = await sh('id; grep ^Groups: /proc/self/status', (s) => {
      s.process!.user = { uid: 65534, gid: 65534 };
    });
    const [id, groups] = out.split('\n');
    expect(id).toBe('uid=65534(nobody) gid=65534(nogroup)');
    expect(groups).toMatch(/^Groups:\s*$/);
  });

  test('additionalGids are exactly its supplementary groups', async () => {
    const out = await sh('grep ^Groups: /proc/self/status; id -G', (s) => {
      s.process!.user = { uid: 65534, gid: 65534, additionalGids: [10, 20] };
    });
    const [groups, ids] = out.split('\n');
    expect(groups?.split(/\s+/).slice(1).filter(Boolean)).toEqual(['10', '20']);
    expect(ids?.split(' ').sort()).toEqual(['10', '20', '65534']);
  });

  test('root gets the default capability set and no_new_privs', async () => {
    expect(capMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0')).toBe(DEFAULT_CAP_HEX);
    const f = statusFields(await sh('cat /proc/self/status'));
    expect(f).toMatchObject({ CapBnd: DEFAULT_CAP_HEX, CapPrm: DEFAULT_CAP_HEX, CapEff: DEFAULT_CAP_HEX, CapInh: NO_CAPS, CapAmb: NO_CAPS, NoNewPrivs: '1' });
  });

  test('a non-root user without ambient capabilities has none effective or permitted', async () => {
    const f = statusFields(
      await sh('cat /proc/self/status', (s) => {
        s.process!.user = { uid: 65534, gid: 65534 };
      }),
    );
    expect(f).toMatchObject({ CapBnd: DEFAULT_CAP_HEX, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapInh: NO_CAPS, CapAmb: NO_CAPS, NoNewPrivs: '1' });
  });

  test('noNewPrivileges false leaves no_new_privs unset', async () => {
    const f = statusFields(
      await sh('cat /proc/self/status', (s) => {
        s.process!.noNewPrivileges = false;
      }),
    );
    expect(f['NoNewPrivs']).toBe('0');
  });

  test('rlimits are the config\'s', async () => {
    // the default config's RLIMIT_NOFILE 1024/1024 (this VM cannot raise a hard limit above 20000)
    expect(await sh('ulimit -n; ulimit -Hn')).toBe('1024\n1024\n');
    const out = await sh('ulimit -n; ulimit -Hn', (s) => {
      s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }];
    });
    expect(out).toBe('100\n200\n');
  });

  test('its environment is exactly process.env, and its cwd process.cwd', async () => {
    process.env['HULL_TEST_MARKER'] = 'leak-me-not';
    try {
      const env = ['PATH=/bin', 'FOO=bar baz', 'EMPTY='];
      const r = await run(['env'], (s) => {
        s.process!.env = env;
      });
      expect(r.exit.status).toBe(0);
      expect(r.out.split('\n').filter(Boolean).sort()).toEqual([...env].sort());
      expect(r.out).not.toContain('JEST_WORKER_ID');
      expect(r.out).not.toContain('HULL_TEST_MARKER');
    } finally {
      delete process.env['HULL_TEST_MARKER'];
    }
    const cwd = await sh('pwd', (s) => {
      s.process!.cwd = '/tmp';
    });
    expect(cwd).toBe('/tmp\n');
  });

  test('its exit code is the container\'s', async () => {
    const r = await run(['sh', '-c', 'exit 3']);
    expect(r.exit).toMatchObject({ exitCode: 3, signal: null, status: 3 });
  });

  test('a SIGKILL from outside gives status 137 and signal 9', async () => {
    const { c } = await create(['sleep', '100']);
    c.start();
    await waitFor('sleep to run', () => fs.readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').startsWith('sleep'));
    c.kill('SIGKILL');
    expect(await c.wait()).toMatchObject({ exitCode: null, signal: 9, status: 137 });
  });

  test('create leaves the init waiting; start runs it; after its exit it is stopped', async () => {
    const pidDir = suite.dir('pid');
    const pidFile = path.join(pidDir.dir, 'init.pid');
    const { c, id, io, bundle: b } = await create(['sh', '-c', 'echo started; sleep 0.3'], undefined, { pidFile });
    const created = c.state();
    expect(created).toMatchObject({ id, status: 'created', pid: c.pid, bundle: b.dir });
    expect(c.pid).toBeGreaterThan(0);
    expect(alive(c.pid)).toBe(true);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(c.pid));
    // the init is in its cgroup already, and has run nothing of the task
    expect(pidsInCgroupsNamed(id)).toEqual([c.pid]);
    await new Promise((r) => setTimeout(r, 100));
    expect(io.out()).toBe('');
    c.start();
    expect(c.state().status).toBe('running');
    expect(await c.wait()).toMatchObject({ status: 0 });
    expect(io.out()).toBe('started\n');
    expect(c.state()).toMatchObject({ status: 'stopped', pid: 0 });
    await c.delete();
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
  });

  test('kill sends SIGTERM by default, which a trapping init handles', async () => {
    const { c } = await create(['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    c.start();
    await waitFor('the TERM trap', () => catchesSignal(c.pid, 15));
    c.kill();
    expect(await c.wait()).toMatchObject({ exitCode: 7, status: 7 });
  });

  test('kill with all signals every process of the container', async () => {
    // pid 1 of a namespace ignores a signal it has no handler for: TERM kills the two sleeps, not
    // the shell, whose wait then returns
    const { c, id } = await create(['sh', '-c', 'sleep 100 & sleep 100 & wait; exit 5']);
    c.start();
    await waitFor('three processes', () => pidsInCgroupsNamed(id).length === 3);
    c.kill('SIGTERM', true);
    expect(await c.wait()).toMatchObject({ exitCode: 5, status: 5 });
  });

  test('delete: a stopped container goes; a running one only with force', async () => {
    const stopped = await create(['true']);
    stopped.c.start();
    await stopped.c.wait();
    await stopped.c.delete();
    expect(await settledLeftovers(stopped.id, { root: suite.root.dir, bundle: stopped.bundle.dir })).toEqual([]);

    const running = await create(['sleep', '100']);
    running.c.start();
    const err = await running.c.delete(false).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HullError);
    expect((err as HullError).message).toMatch(/cannot delete container `.*`: it is running/);
    expect(alive(running.c.pid)).toBe(true);
    await running.c.delete(true);
    expect(await running.c.wait()).toMatchObject({ signal: 9 });
    expect(await settledLeftovers(running.id, { root: suite.root.dir, bundle: running.bundle.dir })).toEqual([]);
  });
});
