import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLONE, MS, S_IFCHR } from '../../../lib/container/constants';
import { parseMountOptions } from '../../../lib/container/mount-options';
import { buildPlan, capMask, capsPlan, type PlanContext } from '../../../lib/container/plan';
import { DEFAULT_CAPABILITIES } from '../../../lib/oci/capabilities';
import type { Spec } from '../../../lib/oci/schema';
import { defaultSpec } from '../../../lib/oci/spec';

const ctx: PlanContext = {
  bundle: '/b',
  rootfs: '/b/rootfs',
  cgroupProcs: ['/sys/fs/cgroup/memory/hull/x/cgroup.procs'],
  cgroupDirs: { memory: '/sys/fs/cgroup/memory/hull/x', systemd: '/sys/fs/cgroup/systemd/hull/x' },
  cgroupV2: false,
  capLast: 40,
};

function spec(edit: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec({ terminal: false });
  edit(s);
  return s;
}

describe('buildPlan', () => {
  it('creates the namespaces the config lists, and joins the ones with a path', () => {
    const p = buildPlan(spec((s) => s.linux!.namespaces!.push({ type: 'network', path: '/var/run/netns/n1' }).valueOf()), ctx);
    expect(p.cloneFlags & CLONE.NEWPID).toBeTruthy();
    expect(p.cloneFlags & CLONE.NEWNS).toBeTruthy();
    expect(p.cloneFlags & CLONE.NEWCGROUP).toBeTruthy();
    expect(p.joins).toEqual([{ path: '/var/run/netns/n1', nstype: CLONE.NEWNET }]);
  });

  it('refuses a config without a mount namespace, naming the field', () => {
    const s = spec((x) => (x.linux!.namespaces = x.linux!.namespaces!.filter((n) => n.type !== 'mount')));
    expect(() => buildPlan(s, ctx)).toThrow(expect.objectContaining({ field: 'linux.namespaces' }));
  });

  it('maps the default mounts to flags and data as runc does', () => {
    const p = buildPlan(spec(), ctx);
    const dev = p.mounts.find((m) => m.destination === '/dev')!;
    expect(dev).toMatchObject({ fstype: 'tmpfs', flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k' });
    const sys = p.mounts.find((m) => m.destination === '/sys')!;
    expect(sys.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  });

  it('resolves relative bind sources against the bundle and keeps ro and propagation apart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-unit-'));
    fs.writeFileSync(path.join(dir, 'file'), '');
    const p = buildPlan(
      spec((s) => {
        s.mounts!.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'rslave'] });
        s.mounts!.push({ destination: '/etc/f', type: 'bind', source: path.join(dir, 'file'), options: ['bind'] });
      }),
      ctx,
    );
    const data = p.mounts.find((m) => m.destination === '/data')!;
    expect(data).toMatchObject({ source: '/b/data', flags: MS.BIND | MS.REC | MS.RDONLY, propagation: MS.SLAVE | MS.REC, file: false });
    expect(data.fstype).toBeUndefined();
    expect(p.mounts.find((m) => m.destination === '/etc/f')!.file).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  it('shows a v1 or hybrid container its own cgroup directories under a read-only tmpfs', () => {
    const p = buildPlan(spec(), ctx);
    const cg = p.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
    expect(cg.map((m) => m.destination)).toEqual(['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']);
    expect(cg[1]).toMatchObject({ source: '/sys/fs/cgroup/memory/hull/x' });
    expect(cg[1]!.flags & MS.RDONLY).toBeTruthy();
    expect(cg[3]!.flags & MS.REMOUNT).toBeTruthy();
  });

  it('mounts cgroup2 on a v2 host', () => {
    const p = buildPlan(spec(), { ...ctx, cgroupV2: true });
    expect(p.mounts.filter((m) => m.destination === '/sys/fs/cgroup')).toEqual([
      expect.objectContaining({ fstype: 'cgroup2', source: 'cgroup2' }),
    ]);
  });

  it('always makes the default devices, plus those of linux.devices', () => {
    const p = buildPlan(spec((s) => (s.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600 }])), ctx);
    expect(p.devices.map((d) => d.path)).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/fuse']);
    expect(p.devices[6]).toEqual({ path: '/dev/fuse', type: S_IFCHR, major: 10, minor: 229, mode: 0o600, uid: 0, gid: 0 });
    expect(p.symlinks).toContainEqual({ target: 'pts/ptmx', path: '/dev/ptmx' });
  });

  it('turns capability names into masks and RLIM_INFINITY into 2^64-1', () => {
    const p = buildPlan(spec((s) => s.process!.rlimits!.push({ type: 'RLIMIT_CORE', soft: 2 ** 64, hard: 2 ** 64 })), ctx);
    expect(p.caps.bounding).toBe(0xa80405fbn);
    expect(p.caps.effective).toBe(capMask(DEFAULT_CAPABILITIES));
    expect(p.caps.inheritable).toBe(0n);
    expect(p.rlimits).toEqual([
      { resource: 7, soft: 1024n, hard: 1024n },
      { resource: 4, soft: 0xffff_ffff_ffff_ffffn, hard: 0xffff_ffff_ffff_ffffn },
    ]);
  });

  it('writes sysctls under /proc/sys', () => {
    const p = buildPlan(spec((s) => (s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' })), ctx);
    expect(p.sysctl).toEqual([{ key: '/proc/sys/net/ipv4/ip_forward', value: '1' }]);
  });

  it('refuses hooks rather than ignore them', () => {
    const s = spec((x) => (x.hooks = { prestart: [{ path: '/bin/true' }] }));
    expect(() => buildPlan(s, ctx)).toThrow(expect.objectContaining({ code: 'EUNSUPPORTED', field: 'hooks.prestart' }));
  });
});

describe('parseMountOptions', () => {
  it('sets and clears flags in order, and passes the rest through as data', () => {
    expect(parseMountOptions(['ro', 'rw', 'nosuid', 'size=1m', 'mode=700'], 'mounts[0].options')).toEqual({
      flags: MS.NOSUID,
      propagation: 0,
      data: ['size=1m', 'mode=700'],
      bind: false,
    });
  });

  it('keeps propagation separate from the flags', () => {
    expect(parseMountOptions(['rbind', 'rshared'], 'm')).toMatchObject({ flags: MS.BIND | MS.REC, propagation: MS.SHARED | MS.REC, bind: true });
  });

  it('refuses options of other runtimes that hull does not do, naming the field', () => {
    expect(() => parseMountOptions(['rbind', 'tmpcopyup'], 'mounts[3].options')).toThrow(expect.objectContaining({ code: 'EUNSUPPORTED', field: 'mounts[3].options[1]' }));
  });
});

describe('capsPlan', () => {
  it('raises only the ambient capabilities that are permitted and inheritable, as runc does', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const caps = capsPlan({ permitted: ['CAP_CHOWN', 'CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_CHOWN', 'CAP_KILL'] });
    expect(caps.ambient).toBe(1n << 5n);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('CAP_CHOWN'), expect.anything());
    warn.mockRestore();
  });
});
