import * as fs from 'node:fs';
import * as path from 'node:path';
import { clearDetectionCache } from '../../../lib/cgroup/detect';
import { type CgroupManager, type CgroupManagerOptions, createCgroupManager } from '../../../lib/cgroup/manager';
import { type CgroupFixture, type FixtureLayout, type FixtureOptions, makeCgroupFixture } from '../../helpers/cgroup-fixture';

let fx: CgroupFixture | undefined;

function setup(layout: FixtureLayout, opts: FixtureOptions = {}, mgr: Partial<CgroupManagerOptions> = {}): { fx: CgroupFixture; m: CgroupManager } {
  fx = makeCgroupFixture(layout, opts);
  const m = createCgroupManager({ id: 'c1', root: fx.root, procRoot: fx.procRoot, ...mgr });
  return { fx, m };
}

/** What mkdir does on a real cgroupfs: the new directories come with their control files. */
function populated(f: CgroupFixture, m: CgroupManager): CgroupManager {
  f.populate(Object.values(m.paths()));
  m.create();
  return m;
}

const read = (dir: string | undefined, file: string) => fs.readFileSync(path.join(dir ?? '', file), 'latin1').trim();

beforeEach(() => clearDetectionCache());
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

describe('createCgroupManager on v1', () => {
  it('lays out hull/<id> in every hierarchy, cpu and cpuacct sharing one', () => {
    const { fx, m } = setup('v1');
    expect(m.mode).toBe('v1');
    const p = m.paths();
    expect(Object.keys(p).sort()).toEqual(['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'hugetlb', 'memory', 'name=systemd', 'pids']);
    expect(p['cpu']).toBe(path.join(fx.root, 'cpu,cpuacct/hull/c1'));
    expect(p['cpuacct']).toBe(p['cpu']);
    expect(p['name=systemd']).toBe(path.join(fx.root, 'systemd/hull/c1'));
    expect(m.procsFiles()).toHaveLength(9);
    expect(m.procsFiles()).toContain(path.join(fx.root, 'memory/hull/c1/cgroup.procs'));
  });

  it('puts a relative path below our own cgroup, as on the CI VM', () => {
    const { fx, m } = setup('v1', { combinedCpu: false, own: { memory: '/process_api/abc' } }, { cgroupsPath: 'ctr' });
    expect(m.paths()['memory']).toBe(path.join(fx.root, 'memory/process_api/abc/ctr'));
    expect(m.paths()['cpu']).toBe(path.join(fx.root, 'cpu/ctr'));
    expect(m.paths()['cpuacct']).toBe(path.join(fx.root, 'cpuacct/ctr'));
  });

  it('puts an absolute path at each hierarchy root', () => {
    const { fx, m } = setup('v1', { own: { memory: '/process_api/abc' } }, { cgroupsPath: '/machine/ctr' });
    expect(m.paths()['memory']).toBe(path.join(fx.root, 'memory/machine/ctr'));
  });

  it('creates, copies cpuset values, applies limits and reads stats', () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    expect(read(m.paths()['cpuset'], 'cpuset.cpus')).toBe('0-3');
    m.apply({ memory: { limit: 1 << 26 }, cpu: { shares: 512, cpus: '1' }, pids: { limit: 20 }, devices: [{ allow: false, access: 'rwm' }] });
    expect(read(m.paths()['memory'], 'memory.limit_in_bytes')).toBe(String(1 << 26));
    expect(read(m.paths()['cpu'], 'cpu.shares')).toBe('512');
    expect(read(m.paths()['cpuset'], 'cpuset.cpus')).toBe('1');
    expect(read(m.paths()['devices'], 'devices.deny')).toBe('a');
    fs.writeFileSync(path.join(m.paths()['pids'] ?? '', 'pids.current'), '3\n');
    const s = m.stats();
    expect(s.pids).toEqual({ current: 3, limit: 20 });
    expect(s.measured).toEqual(expect.arrayContaining(['memory.usage', 'memory.rss', 'cpu.totalNs', 'cpu.userNs', 'cpu.throttledTimeNs', 'pids.current', 'oomKills']));
    expect(m.oomKillCount()).toBe(0);
  });

  it('reports a missing controller by name and field, and refuses unified on v1', () => {
    const { fx, m } = setup('v1', { v1Controllers: ['memory', 'cpu', 'cpuacct', 'freezer'] });
    populated(fx, m);
    expect(() => m.apply({ pids: { limit: 5 } })).toThrow(
      expect.objectContaining({ code: 'EUNSUPPORTED', field: 'linux.resources.pids', message: 'cgroup controller `pids` is not available on this v1 host' }),
    );
    expect(() => m.apply({ unified: { 'memory.high': '1' } })).toThrow(/invalid config: linux\.resources\.unified: needs a cgroup v2 hierarchy/);
    expect(() => m.apply({ memory: { limit: 1 << 26 } })).not.toThrow();
  });

  it('validates before writing anything', () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    expect(() => m.apply({ memory: { limit: 1 << 26 }, cpu: { shares: 1 } })).toThrow(/linux\.resources\.cpu\.shares/);
    expect(read(m.paths()['memory'], 'memory.limit_in_bytes')).toBe('9223372036854771712');
  });

  it('adds a pid to every hierarchy, but never hull itself', () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    m.addPid(4242);
    for (const f of m.procsFiles()) expect(fs.readFileSync(f, 'latin1')).toBe('4242');
    expect(() => m.addPid(process.pid)).toThrow(/refusing to move hull's own process/);
    expect(() => m.addPid(0)).toThrow(/invalid pid 0/);
  });

  it('lists pids from every hierarchy and sub-cgroup, once each', () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    fs.writeFileSync(path.join(m.paths()['memory'] ?? '', 'cgroup.procs'), '30\n10\n');
    fs.writeFileSync(path.join(m.paths()['pids'] ?? '', 'cgroup.procs'), '10\n');
    const sub = path.join(m.paths()['freezer'] ?? '', 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'cgroup.procs'), '20\n');
    expect(m.pids()).toEqual([10, 20, 30]);
  });

  it('reads pids for a stats stream from one kept cgroup.procs, and walks only while there are sub-cgroups', () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    const procs = path.join(m.paths()['pids'] ?? '', 'cgroup.procs');
    fs.writeFileSync(procs, '30\n10\n');
    const r = m.procsReader();
    expect(r.read()).toEqual([10, 30]);
    fs.writeFileSync(procs, '7\n'); // same file, re-read in place
    expect(r.read()).toEqual([7]);
    const sub = path.join(m.paths()['pids'] ?? '', 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'cgroup.procs'), '20\n');
    expect(r.read()).toEqual(m.pids());
    expect(r.read()).toContain(20);
    r.close();
  });

  it('freezes and thaws through freezer.state', async () => {
    const { fx, m } = setup('v1');
    populated(fx, m);
    await m.freeze();
    expect(read(m.paths()['freezer'], 'freezer.state')).toBe('FROZEN');
    expect(m.isFrozen()).toBe(true);
    await m.thaw();
    expect(m.isFrozen()).toBe(false);
  });

  it('uses saved paths over resolving, and refuses paths outside a hierarchy', () => {
    const f = makeCgroupFixture('v1');
    fx = f;
    const saved = { memory: path.join(f.root, 'memory/elsewhere/c1') };
    const m = createCgroupManager({ id: 'c1', root: f.root, procRoot: f.procRoot, paths: saved });
    expect(m.paths()['memory']).toBe(saved.memory);
    expect(m.paths()['pids']).toBe(path.join(f.root, 'pids/hull/c1'));
    expect(() => createCgroupManager({ id: 'c1', root: f.root, procRoot: f.procRoot, paths: { memory: '/etc' } })).toThrow(
      /cgroup directory `\/etc` is not below the hierarchy mounted at `.*\/memory`/,
    );
    expect(() => createCgroupManager({ id: 'c1', root: f.root, procRoot: f.procRoot, paths: { memory: path.join(f.root, 'memory') } })).toThrow(
      /is not below the hierarchy/,
    );
  });
});

describe('createCgroupManager on hybrid', () => {
  it('joins the unified and name=systemd hierarchies too, with limits on v1', () => {
    const { fx, m } = setup('hybrid');
    expect(m.mode).toBe('hybrid');
    expect(m.paths()['unified']).toBe(path.join(fx.root, 'unified/hull/c1'));
    expect(m.procsFiles()).toContain(path.join(fx.root, 'unified/hull/c1/cgroup.procs'));
    expect(m.procsFiles()).toContain(path.join(fx.root, 'systemd/hull/c1/cgroup.procs'));
    populated(fx, m);
    m.apply({ memory: { limit: 1 << 26 } });
    expect(read(m.paths()['memory'], 'memory.limit_in_bytes')).toBe(String(1 << 26));
    expect(read(fx.mount('unified').dir, 'cgroup.subtree_control')).toBe('');
  });

  it('uses a controller of the unified hierarchy that v1 lacks (hugetlb on the CI VM), enabling it only when asked', () => {
    const v1 = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'devices', 'freezer', 'blkio'];
    const { fx, m } = setup('hybrid', { v1Controllers: v1, combinedCpu: false, unifiedControllers: ['hugetlb'] });
    populated(fx, m);
    m.apply({ memory: { limit: 1 << 26 } });
    expect(read(fx.mount('unified').dir, 'cgroup.subtree_control')).toBe('');
    m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] });
    expect(read(fx.mount('unified').dir, 'cgroup.subtree_control')).toBe('+hugetlb');
    expect(read(path.join(fx.mount('unified').dir, 'hull'), 'cgroup.subtree_control')).toBe('+hugetlb');
    expect(read(m.paths()['unified'], 'hugetlb.2MB.max')).toBe(String(1 << 21));
  });

  it('reads the cgroup2 root\'s controllers once per detection of the host, as it reads the mounts', () => {
    const v1 = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'devices', 'freezer', 'blkio'];
    const { fx } = setup('hybrid', { v1Controllers: v1, combinedCpu: false, unifiedControllers: ['hugetlb'] });
    const opts = { id: 'c1', root: fx.root, procRoot: fx.procRoot };
    const hugetlb = { hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] };
    populated(fx, createCgroupManager(opts));
    fs.writeFileSync(path.join(fx.mount('unified').dir, 'cgroup.controllers'), '\n'); // as if hugetlb went back to v1
    expect(() => createCgroupManager(opts).apply(hugetlb)).not.toThrow();
    clearDetectionCache();
    expect(() => createCgroupManager(opts).apply(hugetlb)).toThrow(/hugetlb/);
  });

  it('freezes with cgroup.freeze when v1 has no freezer', async () => {
    const { fx, m } = setup('hybrid', { v1Controllers: ['memory', 'cpu', 'cpuacct'] });
    populated(fx, m);
    fs.writeFileSync(path.join(m.paths()['unified'] ?? '', 'cgroup.events'), 'populated 0\nfrozen 1\n');
    await m.freeze();
    expect(read(m.paths()['unified'], 'cgroup.freeze')).toBe('1');
  });
});

describe('createCgroupManager on v2', () => {
  it('lays out one directory, enables controllers on create, applies and samples v2 files', () => {
    const { fx, m } = setup('v2');
    expect(m.mode).toBe('v2');
    expect(m.paths()).toEqual({ unified: path.join(fx.root, 'hull/c1') });
    populated(fx, m);
    expect(read(fx.root, 'cgroup.subtree_control').split(' ').sort()).toEqual(['+cpu', '+cpuset', '+hugetlb', '+io', '+memory', '+pids']);
    m.apply({ memory: { limit: 1 << 26 }, cpu: { shares: 1024, quota: 50000, period: 100000 }, pids: { limit: 20 } });
    const dir = m.paths()['unified'];
    expect(read(dir, 'memory.max')).toBe(String(1 << 26));
    expect(read(dir, 'memory.oom.group')).toBe('1');
    expect(read(dir, 'cpu.weight')).toBe('39');
    expect(read(dir, 'cpu.max')).toBe('50000 100000');
    fs.writeFileSync(path.join(dir ?? '', 'memory.events'), 'oom 1\noom_kill 1\n');
    expect(m.oomKillCount()).toBe(1);
    const s = m.stats();
    expect(s.oomKills).toBe(1);
    expect(s.pids.limit).toBe(20);
    expect(s.measured).toEqual(expect.arrayContaining(['memory.usage', 'memory.maxUsage', 'cpu.totalNs', 'cpu.throttledPeriods', 'pids.current']));
  });

  it('goes below the parent of our own cgroup for a relative path', () => {
    const { fx, m } = setup('v2', { own: { '': '/user.slice/session-1.scope' } });
    expect(m.paths()['unified']).toBe(path.join(fx.root, 'user.slice/hull/c1'));
  });

  it('reports controllers the root does not offer', () => {
    const { fx, m } = setup('v2', { unifiedControllers: ['memory', 'pids'] });
    populated(fx, m);
    expect(() => m.apply({ cpu: { shares: 100 } })).toThrow(/cgroup controller `cpu` is not available on this v2 host/);
    expect(() => m.apply({ pids: { limit: 3 } })).not.toThrow();
  });

  it('destroys sub-cgroups and the container directory, keeps the shared parent while in use, and can run twice', async () => {
    const { fx, m } = setup('v2');
    m.create(); // bare directories: rmdir works on a tmpdir as on cgroupfs
    const dir = m.paths()['unified'] ?? '';
    fs.mkdirSync(path.join(dir, 'sub/deeper'), { recursive: true });
    fs.mkdirSync(path.join(fx.root, 'hull', 'other')); // another container's
    expect(m.exists()).toBe(true);
    await m.destroy();
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.existsSync(path.join(fx.root, 'hull', 'other'))).toBe(true);
    expect(m.exists()).toBe(false);
    await expect(m.destroy()).resolves.toBeUndefined();
  });

  it('removes the shared hull/ parent with the last container', async () => {
    const { fx, m } = setup('v2');
    m.create();
    await m.destroy();
    expect(fs.existsSync(path.join(fx.root, 'hull'))).toBe(false);
    m.create(); // and a later create makes it again
    expect(m.exists()).toBe(true);
    await m.destroy();
  });

  it('names the directory it could not remove', async () => {
    const { m } = setup('v2');
    m.create();
    const dir = m.paths()['unified'] ?? '';
    fs.writeFileSync(path.join(dir, 'stray'), ''); // a tmpdir cannot rmdir a non-empty directory
    await expect(m.destroy()).rejects.toThrow(expect.objectContaining({ path: dir, message: expect.stringMatching(/^rmdir `.*hull\/c1`: directory not empty$/) }));
  });
});
