import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError, configError, fromNodeError } from '../errors';
import { type CgroupHost, type CgroupMode, type Hierarchy, detectHierarchies } from './detect';
import {
  cgroupFileExists,
  cgroupIoError,
  cgroupSubtree,
  isErrno,
  makeCgroupDir,
  readProcs,
  sleep,
  warnOnce,
  writeCgroupFile,
} from './files';
import { type CgroupLayout, type ControllerDir, type ControllerName, buildLayout, hierarchyKeys } from './layout';
import { hierarchyDir, resolveCgroupsPath } from './path';
import { type LinuxResources, validateResources } from './resources';
import { type CgroupStats, StatFile, StatsReader, type StatsSampler } from './stats';
import * as v1blkio from './v1/blkio';
import * as v1cpu from './v1/cpu';
import * as v1cpuacct from './v1/cpuacct';
import * as v1cpuset from './v1/cpuset';
import * as v1devices from './v1/devices';
import * as v1freezer from './v1/freezer';
import * as v1hugetlb from './v1/hugetlb';
import * as v1memory from './v1/memory';
import * as v1pids from './v1/pids';
import { availableControllers, enableControllers } from './v2/controllers';
import * as v2cpu from './v2/cpu';
import * as v2cpuset from './v2/cpuset';
import * as v2devices from './v2/devices';
import * as v2freezer from './v2/freezer';
import * as v2hugetlb from './v2/hugetlb';
import * as v2io from './v2/io';
import * as v2memory from './v2/memory';
import * as v2unified from './v2/unified';

export interface DestroyOptions {
  /** how long to wait for the killed processes to leave (default 5000 ms) */
  timeoutMs?: number;
  /** how often to look (default 5 ms) */
  pollMs?: number;
}

/**
 * The cgroups of one container. Created and limited before its init exists; the native core then joins init to
 * them by writing "0" to each of procsFiles(). hull's own processes never join them.
 */
export interface CgroupManager {
  readonly mode: CgroupMode;
  /** hierarchy key (`memory`, `cpu`, `name=systemd`, `unified`, ...) → the container's directory */
  paths(): Record<string, string>;
  /** mkdir in every hierarchy; joining an existing cgroup is allowed, as in runc */
  create(): void;
  /** validates, then writes the limits; also serves `update` */
  apply(resources: LinuxResources): void;
  /** the cgroup.procs files to join, one per mounted hierarchy */
  procsFiles(): string[];
  /** moves a running process in (for the executor that spawns with node) */
  addPid(pid: number): void;
  /** every pid in the container's cgroups and their sub-cgroups, sorted */
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  isFrozen(): boolean;
  /** pids() for periodic use: one kept cgroup.procs fd instead of a walk of every hierarchy */
  procsReader(): ProcsReader;
  /** a one-off sample; for periodic sampling keep a statsReader() */
  stats(): CgroupStats;
  statsReader(): StatsReader;
  /** OOM kills so far (0 when there is no memory controller) */
  oomKillCount(): number;
  /** kills every process, then removes the directories everywhere; idempotent */
  destroy(opts?: DestroyOptions): Promise<void>;
  /** whether any of the directories exists */
  exists(): boolean;
}

export interface CgroupManagerOptions {
  id: string;
  /** `linux.cgroupsPath` */
  cgroupsPath?: string;
  /** a fixture root replacing /sys/fs/cgroup (tests) */
  root?: string;
  procRoot?: string;
  /**
   * paths() saved when the container was created. A relative cgroupsPath is resolved against the caller's own
   * cgroup, which a later `hull delete` may not share; saved paths take precedence over resolving.
   */
  paths?: Record<string, string>;
}

/** Detects the host's cgroup layout and returns the manager for the container `id`. */
export function createCgroupManager(opts: CgroupManagerOptions): CgroupManager {
  const host = detectHierarchies({ procRoot: opts.procRoot, cgroupRoot: opts.root });
  const cgPath = resolveCgroupsPath(opts.cgroupsPath, opts.id);
  const dirOf = (h: Hierarchy): string => savedDir(opts.paths, h) ?? hierarchyDir(h, cgPath, host.mode);
  return new FsCgroupManager(buildLayout(host, dirOf, unifiedControllers(host)));
}

/**
 * The controllers of the cgroup2 root, read once per detected host: a controller moves between
 * v1 and v2 only with a mount or unmount, and detection already holds the mounts fixed. A
 * container's life makes five managers (create, start, exit, and two in delete), and each read
 * this file.
 */
const controllersOf = new WeakMap<CgroupHost, string[]>();

function unifiedControllers(host: CgroupHost): string[] {
  if (!host.unified) return [];
  let list = controllersOf.get(host);
  if (!list) {
    list = availableControllers(host.unified.mountpoint);
    controllersOf.set(host, list);
  }
  return list;
}

function savedDir(saved: Record<string, string> | undefined, h: Hierarchy): string | undefined {
  if (!saved) return undefined;
  for (const key of hierarchyKeys(h)) if (saved[key]) return saved[key];
  return undefined;
}

type Apply = (dir: string, r: LinuxResources) => void;

/** Per controller: [v1 apply, v2 apply]. Order matters: cpuset first, as the kernel wants cpus before tasks. */
const APPLIERS: [ControllerName, Apply | undefined, Apply | undefined][] = [
  ['cpuset', v1cpuset.apply, v2cpuset.apply],
  ['devices', v1devices.apply, v2devices.apply],
  ['memory', v1memory.apply, v2memory.apply],
  ['cpu', v1cpu.apply, v2cpu.apply],
  ['pids', v1pids.apply, v1pids.apply],
  ['blkio', v1blkio.apply, v2io.apply],
  ['hugetlb', v1hugetlb.apply, v2hugetlb.apply],
];

/** Whether `r` asks anything of a controller: asking a controller the host lacks is an error, not a no-op. */
function isRequested(name: ControllerName, r: LinuxResources): boolean {
  switch (name) {
    case 'cpuset':
      return Boolean(r.cpu?.cpus || r.cpu?.mems);
    case 'cpu':
      return hasAny(r.cpu, ['shares', 'quota', 'period', 'burst', 'realtimeRuntime', 'realtimePeriod', 'idle']);
    case 'memory':
      return hasAny(r.memory, ['limit', 'reservation', 'swap', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy']);
    case 'pids':
      return r.pids?.limit !== undefined;
    case 'devices':
      return Boolean(r.devices?.length);
    case 'blkio':
      return r.blockIO !== undefined && Object.values(r.blockIO).some((v) => v !== undefined && v !== 0);
    case 'hugetlb':
      return Boolean(r.hugepageLimits?.length);
    default:
      return false;
  }
}

function hasAny<T extends object>(o: T | undefined, keys: (keyof T)[]): boolean {
  return o !== undefined && keys.some((k) => o[k] !== undefined && o[k] !== 0 && o[k] !== false);
}

/** One manager for v1, v2 and hybrid hosts: the layout says which interface serves each controller. */
export class FsCgroupManager implements CgroupManager {
  constructor(private readonly layout: CgroupLayout) {}

  get mode(): CgroupMode {
    return this.layout.mode;
  }

  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.layout.hierarchies) for (const key of h.keys) out[key] = h.dir;
    return out;
  }

  create(): void {
    for (const h of this.layout.hierarchies) {
      if (h.version === 1 && h.keys.includes('cpuset')) v1cpuset.createDir(h.mountpoint, h.dir);
      else makeCgroupDir(h.dir);
    }
    // on pure v2 the controllers must be on for stats even without limits; on hybrid only when a limit needs one
    if (this.layout.mode === 'v2') this.enableUnified(this.unifiedControllersInUse());
  }

  apply(r: LinuxResources): void {
    validateResources(r);
    if (r.unified && !this.layout.unified) {
      throw configError('linux.resources.unified', 'needs a cgroup v2 hierarchy, and this host has only v1');
    }
    for (const [name, v1, v2] of APPLIERS) this.applyController(name, v1, v2, r);
    if (r.unified) this.applyUnified(r);
    warnNotApplied(r);
  }

  procsFiles(): string[] {
    return this.layout.hierarchies.map((h) => path.join(h.dir, 'cgroup.procs'));
  }

  addPid(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new HullError(`invalid pid ${pid}`, { code: 'EINVALIDARG' });
    }
    if (pid === process.pid) {
      throw new HullError(`refusing to move hull's own process ${pid} into a container's cgroups`, { code: 'EINVALIDARG' });
    }
    for (const h of this.layout.hierarchies) writeCgroupFile(h.dir, 'cgroup.procs', String(pid));
  }

  procsReader(): ProcsReader {
    // every process of the task is in every hierarchy's task cgroup, or below it: one will do, and
    // the unified one is best, as only v2 re-lists cgroup.procs on a re-read of a kept fd (see ProcsReader)
    const h = this.layout.unified ?? this.layout.hierarchies.find((x) => x.keys.includes('pids')) ?? this.layout.hierarchies[0];
    return new ProcsReader(h?.dir, h?.version ?? 2, () => this.pids());
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const h of this.layout.hierarchies) {
      for (const dir of cgroupSubtree(h.dir)) for (const pid of readProcs(dir)) all.add(pid);
    }
    return [...all].sort((a, b) => a - b);
  }

  async freeze(): Promise<void> {
    const c = this.freezer();
    await (c.version === 1 ? v1freezer.freeze(c.dir) : v2freezer.freeze(c.dir));
  }

  async thaw(): Promise<void> {
    const c = this.freezer();
    await (c.version === 1 ? v1freezer.thaw(c.dir) : v2freezer.thaw(c.dir));
  }

  isFrozen(): boolean {
    const c = this.freezer();
    return c.version === 1 ? v1freezer.isFrozen(c.dir) : v2freezer.isFrozen(c.dir);
  }

  stats(): CgroupStats {
    const reader = this.statsReader();
    try {
      return reader.read();
    } finally {
      reader.close();
    }
  }

  statsReader(): StatsReader {
    return new StatsReader(this.samplers());
  }

  oomKillCount(): number {
    const m = this.layout.controllers.memory;
    if (!m) return 0;
    return m.version === 1 ? v1memory.oomKillCount(m.dir) : v2memory.oomKillCount(m.dir);
  }

  exists(): boolean {
    return this.layout.hierarchies.some((h) => fs.existsSync(h.dir));
  }

  async destroy(opts: DestroyOptions = {}): Promise<void> {
    if (!this.exists()) return;
    await this.killAll(opts.timeoutMs ?? 5000, opts.pollMs ?? 5);
    await this.removeAll();
  }

  // ---- apply ----

  private applyController(name: ControllerName, v1: Apply | undefined, v2: Apply | undefined, r: LinuxResources): void {
    const c = this.layout.controllers[name];
    if (!c) {
      if (isRequested(name, r)) throw unavailable(name, this.layout.mode);
      return;
    }
    if (c.version === 1) return v1?.(c.dir, r);
    // hybrid: leave the unified hierarchy's subtree_control alone unless a limit needs it
    if (this.layout.mode === 'hybrid' && !isRequested(name, r)) return;
    if (c.v2Name) this.enableUnified([c.v2Name]);
    v2?.(c.dir, r);
  }

  private applyUnified(r: LinuxResources): void {
    const u = this.layout.unified as NonNullable<CgroupLayout['unified']>;
    // a key's prefix is its controller (`memory.high` → memory): enable the ones the root offers
    const wanted = Object.keys(r.unified ?? {}).map((k) => k.slice(0, k.indexOf('.')));
    this.enableUnified(wanted.filter((c) => this.layout.unifiedAvailable.includes(c)));
    v2unified.apply(u.dir, r);
  }

  private unifiedControllersInUse(): string[] {
    const names = new Set<string>();
    for (const c of Object.values(this.layout.controllers)) if (c.version === 2 && c.v2Name) names.add(c.v2Name);
    return [...names];
  }

  private enableUnified(controllers: string[]): void {
    const u = this.layout.unified;
    if (u) enableControllers(u.mountpoint, u.dir, controllers);
  }

  private freezer(): ControllerDir {
    const c = this.layout.controllers.freezer;
    if (!c) throw unavailable('freezer', this.layout.mode);
    return c;
  }

  // ---- stats ----

  private samplers(): StatsSampler[] {
    const { memory, cpu, cpuacct, pids } = this.layout.controllers;
    const out: StatsSampler[] = [];
    if (memory) out.push(memory.version === 1 ? new v1memory.MemorySampler(memory.dir) : new v2memory.MemorySampler(memory.dir));
    if (cpuacct?.version === 1) out.push(new v1cpuacct.CpuacctSampler(cpuacct.dir));
    if (cpu?.version === 1) out.push(new v1cpu.CpuSampler(cpu.dir));
    // v2 cpu.stat has usage and throttling in one file: one sampler for both
    const v2dir = cpuacct?.version === 2 ? cpuacct.dir : cpu?.version === 2 ? cpu.dir : undefined;
    if (v2dir) out.push(new v2cpu.CpuSampler(v2dir));
    if (pids) out.push(new v1pids.PidsSampler(pids.dir));
    return out;
  }

  // ---- destroy ----

  /**
   * Freeze (so nothing forks while we look), SIGKILL every pid in every hierarchy (a pid may be visible in only
   * one), thaw (a frozen v1 task does not die until thawed), then wait for cgroup.procs to empty everywhere.
   */
  private async killAll(timeoutMs: number, pollMs: number): Promise<void> {
    // the common case of a container that has exited: nothing to freeze or kill
    if (this.pids().length === 0) return;
    const frozen = await this.tryFreeze();
    try {
      this.killPids(this.pids());
      this.writeCgroupKill();
    } finally {
      if (frozen) await this.tryThaw();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = this.pids();
      if (left.length === 0) return;
      if (Date.now() > deadline) throw this.stillPopulated(left, timeoutMs);
      this.killPids(left); // children forked before the freeze took hold
      await sleep(pollMs);
    }
  }

  private async tryFreeze(): Promise<boolean> {
    if (!this.layout.controllers.freezer) return false;
    try {
      await this.freeze();
      return true;
    } catch {
      return false; // killing unfrozen still works, it just may need more rounds
    }
  }

  private async tryThaw(): Promise<void> {
    try {
      await this.thaw();
    } catch {
      // the directory may already be gone
    }
  }

  private killPids(pids: number[]): void {
    for (const pid of pids) {
      if (pid === process.pid) {
        throw new HullError(`refusing to kill hull's own process ${pid}, found in cgroup \`${this.layout.hierarchies[0]?.dir}\``, {
          code: 'ESTATE',
        });
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch (e) {
        if (!isErrno(e, 'ESRCH')) throw fromNodeError(e, `kill ${pid}`);
      }
    }
  }

  /** cgroup.kill (Linux 5.14+) kills the whole v2 subtree atomically, including tasks forking right now. */
  private writeCgroupKill(): void {
    const u = this.layout.unified;
    if (u && cgroupFileExists(u.dir, 'cgroup.kill')) writeCgroupFile(u.dir, 'cgroup.kill', '1');
  }

  private stillPopulated(left: number[], timeoutMs: number): HullError {
    const dir = this.layout.hierarchies[0]?.dir ?? '';
    return new HullError(`cgroup \`${dir}\` still has processes ${left.join(', ')} after ${timeoutMs} ms`, {
      code: 'EBUSY',
      path: dir,
    });
  }

  /** Removes the container's directory, sub-cgroups first, in every hierarchy; shared parents stay. */
  private async removeAll(): Promise<void> {
    const failed: HullError[] = [];
    for (const h of this.layout.hierarchies) {
      // the common case, a cgroup with no children: one rmdir, no walk of its directory
      if (!removedAtOnce(h.dir)) {
        for (const dir of cgroupSubtree(h.dir)) {
          const err = await removeDir(dir);
          if (err) failed.push(err);
        }
      }
      removeSharedParent(h.dir);
    }
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) {
      const paths = failed.map((e) => `\`${e.path}\``).join(', ');
      throw new HullError(`remove cgroups ${paths}: ${failed[0]?.message}`, {
        code: failed[0]?.code ?? 'EBUSY',
        path: failed[0]?.path ?? '',
        cause: failed,
      });
    }
  }
}

/**
 * The task's pids, sampled often (a stats stream): cgroup.procs re-read, sorted, and the whole walk
 * only while the cgroup has sub-cgroups (cgroupfs counts each in the directory's link count, as a
 * filesystem does).
 *
 * On v2 the fd is kept: a read from offset 0 restarts the kernel's task iterator. On v1 it is not:
 * cgroup v1 serves cgroup.procs from a pid list it builds at the first read after open and keeps,
 * for the same reader, until one second passes without a read (cgroup_pidlist_start and
 * CGROUP_PIDLIST_DESTROY_DELAY in kernel/cgroup/cgroup-v1.c). A kept fd sampled faster than that
 * would see the task's first pids forever, so v1 opens the file for each read.
 */
export class ProcsReader {
  private readonly procs: StatFile | undefined;

  constructor(
    private readonly dir: string | undefined,
    private readonly version: 1 | 2,
    private readonly walk: () => number[],
  ) {
    this.procs = dir ? new StatFile(path.join(dir, 'cgroup.procs')) : undefined;
  }

  read(): number[] {
    if (!this.dir || !this.procs || fs.statSync(this.dir, { throwIfNoEntry: false })?.nlink !== 2) return this.walk();
    const pids = this.procs.numbers().sort((a, b) => a - b);
    if (this.version === 1) this.procs.close();
    return pids;
  }

  close(): void {
    this.procs?.close();
  }
}

/**
 * The default `hull/` parent is shared by every container, so it stays while any is left: rmdir
 * removes it only when empty (ENOTEMPTY otherwise), and create makes it again. A concurrent create
 * whose mkdir loses the race retries (makeCgroupDir).
 */
function removeSharedParent(dir: string): void {
  const parent = path.dirname(dir);
  if (path.basename(parent) !== 'hull') return;
  try {
    fs.rmdirSync(parent);
  } catch {
    // not empty, busy, or gone: all fine
  }
}

/** rmdir(dir), true when it is gone; false when it is not (children, tasks lagging: EBUSY), for the walk to handle. */
function removedAtOnce(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (e) {
    return isErrno(e, 'ENOENT');
  }
}

/**
 * rmdir of a cgroup fails with EBUSY while the kernel still has tasks (or dying css) in it, which can lag the
 * empty cgroup.procs by a moment: retry with a short backoff. ENOENT means done.
 */
async function removeDir(dir: string, attempts = 10): Promise<HullError | undefined> {
  for (let i = 0; ; i++) {
    try {
      fs.rmdirSync(dir);
      return undefined;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      if (!isErrno(e, 'EBUSY') || i + 1 >= attempts) return cgroupIoError(e, `rmdir \`${dir}\``, dir);
    }
    await sleep(Math.min(5 * 2 ** i, 200));
  }
}

function unavailable(name: ControllerName, mode: CgroupMode): HullError {
  return new HullError(`cgroup controller \`${name}\` is not available on this ${mode} host`, {
    code: 'EUNSUPPORTED',
    ...(name === 'freezer' ? {} : { field: `linux.resources.${fieldOf(name)}` }),
  });
}

function fieldOf(name: ControllerName): string {
  return name === 'cpuset' ? 'cpu' : name === 'blkio' ? 'blockIO' : name === 'hugetlb' ? 'hugepageLimits' : name;
}

function warnNotApplied(r: LinuxResources): void {
  if (r.network) warnOnce('HULL_CGROUP_NETWORK', 'linux.resources.network is not applied (net_cls/net_prio are not supported)');
  if (r.rdma) warnOnce('HULL_CGROUP_RDMA', 'linux.resources.rdma is not applied');
}
