import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A fake /proc/self/{cgroup,mountinfo} and /sys/fs/cgroup tree in a tmpdir, with the control files a kernel shows
 * in each cgroup. Pass `root` and `procRoot` to createCgroupManager. The kernel fills a new cgroup directory with its
 * files on mkdir; a tmpdir does not, so call populate() with the directories a test will use before create().
 */

export type FixtureLayout = 'v1' | 'v2' | 'hybrid';

export interface FixtureOptions {
  /** v1: mount cpu and cpuacct together (most distros; default) or apart (hull's CI VM) */
  combinedCpu?: boolean;
  /** the v1 controllers mounted (default: all of memory, cpu, cpuacct, cpuset, pids, devices, freezer, blkio, hugetlb) */
  v1Controllers?: string[];
  /** the controllers in the cgroup2 root's cgroup.controllers; default: all on v2, none on hybrid */
  unifiedControllers?: string[];
  /** the fake process's cgroup per mount name (`memory`, `cpu,cpuacct`, `systemd`, `unified`); default `/` */
  own?: Record<string, string>;
  /** whether v1 memory has memory.memsw.* (swapaccount=1); default true */
  swapAccounting?: boolean;
}

export interface FixtureMount {
  /** the directory name under /sys/fs/cgroup: `memory`, `cpu,cpuacct`, `systemd`, `unified`, or `` (pure v2) */
  name: string;
  version: 1 | 2;
  /** v1 super options naming the controllers; [] for cgroup2 */
  controllers: string[];
  dir: string;
}

export interface CgroupFixture {
  layout: FixtureLayout;
  base: string;
  /** stands for /sys/fs/cgroup */
  root: string;
  procRoot: string;
  mounts: FixtureMount[];
  /** the mount serving a v1 controller, `name=systemd`, or `unified` */
  mount(key: string): FixtureMount;
  /** gives each directory (and its ancestors up to the mount) the control files the kernel would show */
  populate(dirs: Iterable<string>): void;
  write(file: string, content: string): void;
  read(file: string): string;
  cleanup(): void;
}

const ALL_V1 = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'devices', 'freezer', 'blkio', 'hugetlb'];
const ALL_V2 = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
const UNLIMITED_V1 = '9223372036854771712\n';

export function makeCgroupFixture(layout: FixtureLayout, opts: FixtureOptions = {}): CgroupFixture {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-cgroup-fixture-'));
  const root = path.join(base, 'sys/fs/cgroup');
  const procRoot = path.join(base, 'proc');
  const unifiedControllers = opts.unifiedControllers ?? (layout === 'v2' ? ALL_V2 : []);
  const mounts = fixtureMounts(layout, root, opts);
  const files = (m: FixtureMount, isRoot: boolean): Record<string, string> =>
    m.version === 1 ? v1Files(m.controllers, isRoot, opts.swapAccounting ?? true) : v2Files(unifiedControllers, isRoot);

  for (const m of mounts) writeFiles(m.dir, files(m, true));
  fs.mkdirSync(path.join(procRoot, 'self'), { recursive: true });
  fs.writeFileSync(path.join(procRoot, 'self/cgroup'), procCgroup(mounts, opts.own ?? {}));
  fs.writeFileSync(path.join(procRoot, 'self/mountinfo'), mountinfo(mounts));

  const fixture: CgroupFixture = {
    layout,
    base,
    root,
    procRoot,
    mounts,
    mount: (key) => findMount(mounts, key),
    populate: (dirs) => {
      for (const dir of dirs) populateDir(mounts, dir, files);
    },
    write: (file, content) => fs.writeFileSync(file, content),
    read: (file) => fs.readFileSync(file, 'latin1'),
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
  for (const m of mounts) {
    const own = opts.own?.[m.name];
    if (own && own !== '/') fixture.populate([path.join(m.dir, own)]);
  }
  return fixture;
}

function fixtureMounts(layout: FixtureLayout, root: string, opts: FixtureOptions): FixtureMount[] {
  if (layout === 'v2') return [{ name: '', version: 2, controllers: [], dir: root }];
  const wanted = opts.v1Controllers ?? ALL_V1;
  const combined = (opts.combinedCpu ?? true) && wanted.includes('cpu') && wanted.includes('cpuacct');
  const groups = wanted
    .filter((c) => !(combined && c === 'cpuacct'))
    .map((c) => (combined && c === 'cpu' ? ['cpu', 'cpuacct'] : [c]));
  const out: FixtureMount[] = groups.map((g) => ({ name: g.join(','), version: 1, controllers: g, dir: path.join(root, g.join(',')) }));
  out.push({ name: 'systemd', version: 1, controllers: ['name=systemd'], dir: path.join(root, 'systemd') });
  if (layout === 'hybrid') out.push({ name: 'unified', version: 2, controllers: [], dir: path.join(root, 'unified') });
  return out;
}

function findMount(mounts: FixtureMount[], key: string): FixtureMount {
  const m = mounts.find((x) => (key === 'unified' ? x.version === 2 : x.controllers.includes(key)));
  if (!m) throw new Error(`fixture has no mount for ${key}`);
  return m;
}

function procCgroup(mounts: FixtureMount[], own: Record<string, string>): string {
  const lines = mounts.map((m, i) =>
    m.version === 2 ? `0::${own[m.name] ?? '/'}` : `${mounts.length - i}:${m.controllers.join(',')}:${own[m.name] ?? '/'}`,
  );
  return lines.join('\n') + '\n';
}

function mountinfo(mounts: FixtureMount[]): string {
  const lines = [
    '21 26 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
    '22 26 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw',
    '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  ];
  if (mounts.some((m) => m.version === 1)) {
    lines.push('30 22 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755');
  }
  mounts.forEach((m, i) => {
    const id = 31 + i;
    const where = m.name ? `/sys/fs/cgroup/${m.name}` : '/sys/fs/cgroup';
    const fs2 = m.version === 2;
    const options = fs2 ? 'rw,nsdelegate' : `rw,${m.controllers.join(',')}`;
    lines.push(`${id} 30 0:${id} / ${where} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fs2 ? 'cgroup2 cgroup2' : 'cgroup cgroup'} ${options}`);
  });
  return lines.join('\n') + '\n';
}

function populateDir(
  mounts: FixtureMount[],
  dir: string,
  files: (m: FixtureMount, isRoot: boolean) => Record<string, string>,
): void {
  const m = mounts
    .filter((x) => dir === x.dir || dir.startsWith(x.dir + '/'))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
  if (!m) throw new Error(`${dir} is in no fixture mount`);
  let cur = m.dir;
  for (const part of path.relative(m.dir, dir).split('/').filter(Boolean)) {
    cur = path.join(cur, part);
    writeFiles(cur, files(m, false));
  }
}

/** Creates the directory and the files it lacks; never overwrites what a test already wrote. */
function writeFiles(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) fs.writeFileSync(p, content);
  }
}

function v1Files(controllers: string[], isRoot: boolean, swap: boolean): Record<string, string> {
  const out: Record<string, string> = { 'cgroup.procs': '', tasks: '', 'cgroup.clone_children': '0\n', notify_on_release: '0\n' };
  for (const c of controllers) Object.assign(out, V1_FILES[c]?.(isRoot, swap) ?? {});
  return out;
}

const V1_FILES: Record<string, (isRoot: boolean, swap: boolean) => Record<string, string>> = {
  memory: (_root, swap) => ({
    'memory.limit_in_bytes': UNLIMITED_V1,
    'memory.soft_limit_in_bytes': UNLIMITED_V1,
    ...(swap ? { 'memory.memsw.limit_in_bytes': UNLIMITED_V1, 'memory.memsw.usage_in_bytes': '0\n' } : {}),
    'memory.usage_in_bytes': '0\n',
    'memory.max_usage_in_bytes': '0\n',
    'memory.kmem.usage_in_bytes': '0\n',
    'memory.kmem.tcp.limit_in_bytes': UNLIMITED_V1,
    'memory.swappiness': '60\n',
    'memory.use_hierarchy': '1\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory.stat': V1_MEMORY_STAT_EMPTY,
  }),
  cpu: () => ({
    'cpu.shares': '1024\n',
    'cpu.cfs_period_us': '100000\n',
    'cpu.cfs_quota_us': '-1\n',
    'cpu.cfs_burst_us': '0\n',
    'cpu.rt_period_us': '1000000\n',
    'cpu.rt_runtime_us': '0\n',
    'cpu.idle': '0\n',
    'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n',
  }),
  cpuacct: () => ({ 'cpuacct.usage': '0\n', 'cpuacct.stat': 'user 0\nsystem 0\n' }),
  cpuset: (isRoot) => ({
    'cpuset.cpus': isRoot ? '0-3\n' : '\n',
    'cpuset.mems': isRoot ? '0\n' : '\n',
    'cpuset.effective_cpus': isRoot ? '0-3\n' : '\n',
  }),
  pids: () => ({ 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.events': 'max 0\n' }),
  devices: () => ({ 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' }),
  freezer: () => ({ 'freezer.state': 'THAWED\n', 'freezer.self_freezing': '0\n', 'freezer.parent_freezing': '0\n' }),
  blkio: () => ({
    'blkio.bfq.weight': 'default 100\n',
    'blkio.bfq.weight_device': '',
    'blkio.throttle.read_bps_device': '',
    'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '',
    'blkio.throttle.write_iops_device': '',
  }),
  hugetlb: () => ({ 'hugetlb.2MB.limit_in_bytes': UNLIMITED_V1, 'hugetlb.2MB.usage_in_bytes': '0\n' }),
};

export const V1_MEMORY_STAT_EMPTY = [
  'cache 0', 'rss 0', 'rss_huge 0', 'shmem 0', 'mapped_file 0', 'dirty 0', 'writeback 0', 'swap 0', 'pgpgin 0', 'pgpgout 0',
  'pgfault 0', 'pgmajfault 0', 'inactive_anon 0', 'active_anon 0', 'inactive_file 0', 'active_file 0', 'unevictable 0',
  'hierarchical_memory_limit 9223372036854771712', 'hierarchical_memsw_limit 9223372036854771712',
  'total_cache 0', 'total_rss 0', 'total_rss_huge 0', 'total_shmem 0', 'total_mapped_file 0', 'total_dirty 0',
  'total_writeback 0', 'total_swap 0', 'total_pgpgin 0', 'total_pgpgout 0', 'total_pgfault 0', 'total_pgmajfault 0',
  'total_inactive_anon 0', 'total_active_anon 0', 'total_inactive_file 0', 'total_active_file 0', 'total_unevictable 0',
].join('\n') + '\n';

function v2Files(controllers: string[], isRoot: boolean): Record<string, string> {
  const out: Record<string, string> = {
    'cgroup.procs': '',
    'cgroup.controllers': controllers.join(' ') + '\n',
    'cgroup.subtree_control': '\n',
    'cgroup.type': 'domain\n',
    'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
  };
  if (!isRoot) Object.assign(out, { 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.freeze': '0\n', 'cgroup.kill': '' });
  for (const c of controllers) Object.assign(out, V2_FILES[c]?.() ?? {});
  return out;
}

const V2_FILES: Record<string, () => Record<string, string>> = {
  memory: () => ({
    'memory.current': '0\n',
    'memory.peak': '0\n',
    'memory.max': 'max\n',
    'memory.high': 'max\n',
    'memory.low': '0\n',
    'memory.min': '0\n',
    'memory.swap.max': 'max\n',
    'memory.swap.current': '0\n',
    'memory.oom.group': '0\n',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
    'memory.stat': 'anon 0\nfile 0\nkernel 0\nkernel_stack 0\nsock 0\nshmem 0\nfile_mapped 0\npgfault 0\npgmajfault 0\n',
  }),
  cpu: () => ({
    'cpu.weight': '100\n',
    'cpu.max': 'max 100000\n',
    'cpu.max.burst': '0\n',
    'cpu.idle': '0\n',
    'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n',
  }),
  cpuset: () => ({ 'cpuset.cpus': '\n', 'cpuset.mems': '\n', 'cpuset.cpus.effective': '0-3\n' }),
  pids: () => ({ 'pids.max': 'max\n', 'pids.current': '0\n' }),
  io: () => ({ 'io.max': '', 'io.weight': 'default 100\n', 'io.stat': '' }),
  hugetlb: () => ({ 'hugetlb.2MB.max': 'max\n', 'hugetlb.2MB.current': '0\n' }),
};
