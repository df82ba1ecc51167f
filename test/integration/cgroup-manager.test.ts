import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from '../../lib/errors';
import { type CgroupManager, type LinuxResources, clearDetectionCache, cpuPercent, createCgroupManager } from '../../lib/cgroup';
import { ProcsReader } from '../../lib/cgroup/manager';
import {
  type Gated,
  canManageCgroups,
  cpuTicks,
  delay,
  findCgroupDirs,
  removeTree,
  spawnGated,
} from '../helpers/cgroup-host';

const d = canManageCgroups() ? describe : describe.skip;
const MiB = 1024 * 1024;
const prefix = `hull-test-${process.pid}-${randomBytes(3).toString('hex')}`;
const managers: CgroupManager[] = [];
const children: Gated[] = [];
let seq = 0;

/** A fresh container cgroup under our own, named with the suite's unique prefix. */
function newManager(resources?: LinuxResources): CgroupManager {
  const name = `${prefix}-${++seq}`;
  const m = createCgroupManager({ id: name, cgroupsPath: name });
  managers.push(m);
  m.create();
  if (resources) m.apply(resources);
  return m;
}

function gated(m: CgroupManager, script: string): Gated {
  const g = spawnGated(script);
  children.push(g);
  m.addPid(g.pid);
  return g;
}

function childrenOf(pid: number): number[] {
  const list = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
  return list ? list.split(' ').map(Number) : [];
}

function read(m: CgroupManager, key: string, file: string): string {
  return fs.readFileSync(path.join(m.paths()[key] as string, file), 'latin1').trim();
}

/** Per-version file names for the same knob. */
function v(m: CgroupManager, v1: [string, string], v2: [string, string]): string {
  return m.mode === 'v2' ? read(m, 'unified', v2[1]) : read(m, v1[0], v1[1]);
}

afterAll(async () => {
  for (const g of children) g.child.kill('SIGKILL');
  for (const m of managers) await m.destroy().catch(() => undefined);
  for (const dir of findCgroupDirs(prefix)) removeTree(dir);
});

d('CgroupManager on this host', () => {
  it('creates the cgroup in every mounted hierarchy, including name=systemd and unified', () => {
    const m = newManager();
    const paths = m.paths();
    for (const dir of Object.values(paths)) expect(fs.existsSync(dir)).toBe(true);
    for (const key of ['memory', 'cpu', 'cpuacct', 'pids', 'freezer']) if (m.mode !== 'v2') expect(paths[key]).toContain(prefix);
    if (m.mode !== 'v1') expect(paths['unified']).toContain(prefix);
    expect(m.procsFiles().length).toBe(new Set(Object.values(paths)).size);
    expect(m.exists()).toBe(true);
  });

  it('applies memory, cpu, cpuset, pids and device limits', () => {
    const m = newManager({
      memory: { limit: 64 * MiB, reservation: 32 * MiB },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 50 },
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    });
    expect(v(m, ['memory', 'memory.limit_in_bytes'], ['', 'memory.max'])).toBe(String(64 * MiB));
    expect(v(m, ['cpu', 'cpu.cfs_quota_us'], ['', 'cpu.max'])).toMatch(/^50000( 100000)?$/);
    expect(v(m, ['cpuset', 'cpuset.cpus'], ['', 'cpuset.cpus'])).toBe('0');
    expect(v(m, ['pids', 'pids.max'], ['', 'pids.max'])).toBe('50');
    if (m.mode !== 'v2') {
      expect(read(m, 'cpu', 'cpu.shares')).toBe('512');
      expect(read(m, 'devices', 'devices.list')).toBe('c 1:3 rwm');
    }
  });

  it('refuses a limit the kernel rejects, naming the file and the field', () => {
    const m = newManager();
    const g = gated(m, 'x=$(head -c 2000000 /dev/zero | tr "\\0" x); exec sleep 30');
    g.start();
    return delay(300).then(() => {
      let err: unknown;
      try {
        m.apply({ memory: { limit: 4096 } }); // far below what the shell holds: the kernel cannot reclaim it
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HullError);
      expect((err as HullError).field).toBe('linux.resources.memory.limit');
      expect((err as HullError).message).toMatch(/memory\.(limit_in_bytes|max)/);
    });
  });

  it('refuses invalid numbers before touching the kernel', () => {
    const m = newManager();
    expect(() => m.apply({ cpu: { shares: 1 } })).toThrow(/linux\.resources\.cpu\.shares/);
  });

  it('moves a spawned process in with addPid; stats see it; hull itself stays out', async () => {
    const m = newManager({ pids: { limit: 100 } });
    const g = gated(m, 'exec sleep 30');
    g.start();
    await delay(100);
    expect(m.pids()).toEqual([g.pid]);
    const s = m.stats();
    expect(s.pids.current).toBe(1);
    expect(s.pids.limit).toBe(100);
    expect(s.memory.usage).toBeGreaterThan(0);
    expect(s.measured).toEqual(expect.arrayContaining(['memory.usage', 'cpu.totalNs', 'pids.current']));
    const own = fs.readFileSync('/proc/self/cgroup', 'latin1');
    expect(own).not.toContain(prefix);
    for (const f of m.procsFiles()) expect(fs.readFileSync(f, 'latin1').split('\n')).not.toContain(String(process.pid));
    const childCgroups = fs.readFileSync(`/proc/${g.pid}/cgroup`, 'latin1').trim().split('\n');
    for (const line of childCgroups.filter((l) => !/:(rdma|misc|net_cls|net_prio|perf_event|hugetlb):/.test(l))) {
      expect(line).toContain(prefix);
    }
    expect(() => m.addPid(process.pid)).toThrow(/own process/);
  });

  it('procsReader sees processes that join after its first read, in every hierarchy, when sampled often', async () => {
    // v1 keeps the pid list of a kept cgroup.procs fd while it is read at least once a second;
    // the test counts the children in /proc, as a fresh open of cgroup.procs would refresh that list
    const m = newManager();
    const g = gated(m, 'sleep 30 & sleep 30 & wait');
    const readers = Object.entries(m.paths()).map(([key, dir]) => new ProcsReader(dir, key === 'unified' ? 2 : 1, () => m.pids()));
    const managed = m.procsReader();
    for (const r of [...readers, managed]) expect(r.read()).toEqual([g.pid]);
    g.start();
    let all = [g.pid];
    for (let i = 0; i < 40 && all.length < 3; i++) {
      await delay(50);
      all = [g.pid, ...childrenOf(g.pid)].sort((a, b) => a - b);
      for (const r of [...readers, managed]) r.read(); // keep every reader warm, as a 50 ms stream would
    }
    expect(all).toHaveLength(3);
    for (const r of [...readers, managed]) expect(r.read()).toEqual(all);
    for (const r of [...readers, managed]) r.close();
  });

  it('measures a CPU spinner at about one core', async () => {
    const m = newManager();
    const g = gated(m, 'while :; do :; done');
    g.start();
    const reader = m.statsReader();
    try {
      await delay(100);
      const s1 = reader.read();
      const t1 = process.hrtime.bigint();
      await delay(1000);
      const s2 = reader.read();
      const pct = cpuPercent(s1, s2, Number(process.hrtime.bigint() - t1));
      expect(pct).toBeGreaterThan(50);
      expect(pct).toBeLessThan(150);
      expect(cpuPercent(undefined, s2, 1e9)).toBe(0);
    } finally {
      reader.close();
    }
  });

  it('OOM-kills a memory hog under a 32 MiB limit and counts it', async () => {
    const m = newManager({ memory: { limit: 32 * MiB } });
    expect(m.oomKillCount()).toBe(0);
    const g = gated(m, 'x=$(head -c 100000000 /dev/zero | tr "\\0" x); echo survived');
    g.start();
    const exit = await g.exited;
    expect(exit.signal ?? exit.code).not.toBe(0);
    expect(m.oomKillCount()).toBeGreaterThanOrEqual(1);
    expect(m.stats().oomKills).toBeGreaterThanOrEqual(1);
  });

  it('contains a fork bomb under pids.limit 20, and destroy ends it', async () => {
    const m = newManager({ pids: { limit: 20 } });
    gated(m, 'f() { f & f & wait; }; f');
    children[children.length - 1]?.start();
    await delay(700);
    const s = m.stats();
    expect(s.pids.current).toBeGreaterThan(1);
    expect(s.pids.current).toBeLessThanOrEqual(20);
    expect(m.pids().length).toBeLessThanOrEqual(20);
    await m.destroy();
    expect(m.exists()).toBe(false);
  });

  it('freezes and thaws', async () => {
    const m = newManager();
    const g = gated(m, 'while :; do :; done');
    g.start();
    await delay(100);
    await m.freeze();
    expect(m.isFrozen()).toBe(true);
    const frozenAt = cpuTicks(g.pid);
    await delay(300);
    expect(cpuTicks(g.pid)).toBe(frozenAt);
    await m.thaw();
    expect(m.isFrozen()).toBe(false);
    await delay(300);
    expect(cpuTicks(g.pid)).toBeGreaterThan(frozenAt);
  });

  it('destroy kills everything, removes sub-cgroups and every hierarchy directory, and is idempotent', async () => {
    const m = newManager();
    const g1 = gated(m, 'exec sleep 30');
    const g2 = gated(m, 'sleep 30 & sleep 30 & wait');
    g1.start();
    g2.start();
    // sub-cgroups the task could have made
    for (const dir of new Set(Object.values(m.paths()))) fs.mkdirSync(path.join(dir, 'sub'));
    await delay(100);
    expect(m.pids().length).toBeGreaterThanOrEqual(4);
    await m.destroy();
    for (const dir of Object.values(m.paths())) expect(fs.existsSync(dir)).toBe(false);
    expect(m.exists()).toBe(false);
    expect((await g1.exited).signal).toBe('SIGKILL');
    expect((await g2.exited).signal).toBe('SIGKILL');
    await expect(m.destroy()).resolves.toBeUndefined();
  });

  it('is rebuilt from { id, cgroupsPath } alone and destroys from there', async () => {
    const m = newManager();
    const name = path.basename(m.paths()['pids'] ?? m.paths()['unified'] ?? '');
    clearDetectionCache();
    const again = createCgroupManager({ id: name, cgroupsPath: name });
    expect(again.paths()).toEqual(m.paths());
    const fromSaved = createCgroupManager({ id: name, paths: m.paths() });
    expect(fromSaved.paths()).toEqual(m.paths());
    const g = gated(m, 'exec sleep 30');
    g.start();
    await again.destroy();
    expect(m.exists()).toBe(false);
    expect((await g.exited).signal).toBe('SIGKILL');
  });

  it('uses hull/<id> when there is no cgroupsPath; the shared parent stays while another container uses it', async () => {
    const id = `${prefix}-default`;
    const m = createCgroupManager({ id });
    const other = createCgroupManager({ id: `${prefix}-other` });
    managers.push(m, other);
    const parents = Object.values(m.paths()).map((p) => path.dirname(p));
    const existed = parents.map((p) => fs.existsSync(p));
    m.create();
    other.create();
    for (const p of Object.values(m.paths())) expect(p.endsWith(`/hull/${id}`)).toBe(true);
    await m.destroy();
    for (const p of parents) expect(fs.existsSync(p)).toBe(true);
    await other.destroy();
    // the last container out removes a parent that hull made; one that holds others' cgroups stays
    parents.forEach((p, i) => {
      if (!existed[i]) expect(fs.existsSync(p)).toBe(false);
    });
  });
});
