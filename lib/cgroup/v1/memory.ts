import * as path from 'node:path';
import { HullError } from '../../errors';
import { cgroupFileExists, readCgroupFile, warnOnce, writeCgroupFile } from '../files';
import type { LinuxMemory, LinuxResources } from '../resources';
import {
  type CgroupStats,
  KeySet,
  type StatFile,
  FileSampler,
  at,
  checkLimitAboveUsage,
  memoryReading,
  parseFlatKeyed,
  parseSingleValue,
  putMemory,
  sampleOnce,
} from '../stats';

const F = 'linux.resources.memory';
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

/** cgroup v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst). */
export function apply(dir: string, r: LinuxResources): void {
  const m = r.memory;
  if (!m) return;
  if (m.checkBeforeUpdate) checkLimitAboveUsage(dir, 'memory.usage_in_bytes', m.limit);
  setLimitAndSwap(dir, m);
  if (m.reservation) writeCgroupFile(dir, 'memory.soft_limit_in_bytes', String(m.reservation), `${F}.reservation`);
  if (m.kernel) warnOnce('HULL_CGROUP_KMEM', 'linux.resources.memory.kernel is ignored: kernel memory limits are deprecated since Linux 5.4');
  if (m.kernelTCP) writeCgroupFile(dir, 'memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP), `${F}.kernelTCP`);
  if (m.swappiness !== undefined) writeCgroupFile(dir, 'memory.swappiness', String(m.swappiness), `${F}.swappiness`);
  if (m.disableOOMKiller) writeCgroupFile(dir, 'memory.oom_control', '1', `${F}.disableOOMKiller`);
  if (m.useHierarchy !== undefined) {
    writeCgroupFile(dir, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0', `${F}.useHierarchy`);
  }
}

/**
 * The kernel keeps memory.limit_in_bytes ≤ memory.memsw.limit_in_bytes at every step, so the write order depends
 * on the current limit (runc fs/memory.go setMemoryAndSwap): raise memsw first when the new memsw is above the
 * current memory limit, otherwise lower memory first.
 */
function setLimitAndSwap(dir: string, m: LinuxMemory): void {
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  const hasMemsw = cgroupFileExists(dir, MEMSW);
  // "unlimited memory" with no swap value means unlimited memory+swap too
  if (limit === -1 && swap === 0 && hasMemsw) swap = -1;
  if (swap !== 0 && !hasMemsw) throw noSwapAccounting(dir);
  if (limit !== 0 && swap !== 0) {
    const current = parseSingleValue(readCgroupFile(dir, LIMIT));
    if (swap === -1 || current < swap) {
      writeSwap(dir, swap);
      writeLimit(dir, limit);
      return;
    }
  }
  if (limit !== 0) writeLimit(dir, limit);
  if (swap !== 0) writeSwap(dir, swap);
}

function writeLimit(dir: string, limit: number): void {
  writeCgroupFile(dir, LIMIT, String(limit), `${F}.limit`);
}

function writeSwap(dir: string, swap: number): void {
  writeCgroupFile(dir, MEMSW, String(swap), `${F}.swap`);
}

function noSwapAccounting(dir: string): HullError {
  const p = path.join(dir, MEMSW);
  return new HullError(`${F}.swap: \`${p}\` does not exist: the kernel does not account swap (boot with swapaccount=1)`, {
    code: 'EUNSUPPORTED',
    path: p,
    field: `${F}.swap`,
  });
}

/** The `oom_kill` counter of memory.oom_control (Linux 4.13+); hierarchical, so kills in sub-cgroups count. */
export function oomKillCount(dir: string): number {
  return parseFlatKeyed(readCgroupFile(dir, 'memory.oom_control'))['oom_kill'] ?? 0;
}

const STAT_KEYS = new KeySet(['total_rss', 'total_cache', 'total_swap', 'total_mapped_file', 'total_pgfault', 'total_pgmajfault']);
const OOM_KEYS = new KeySet(['oom_kill']);

/** Samples a v1 memory cgroup; the total_* keys of memory.stat include sub-cgroups. */
export class MemorySampler extends FileSampler {
  private readonly usage: StatFile;
  private readonly maxUsage: StatFile;
  private readonly stat: StatFile;
  private readonly kmem: StatFile;
  private readonly oom: StatFile;
  private readonly v = new Float64Array(STAT_KEYS.keys.length);
  private readonly o = new Float64Array(1);
  private readonly r = memoryReading();

  constructor(dir: string) {
    super();
    this.usage = this.file(path.join(dir, 'memory.usage_in_bytes'));
    this.maxUsage = this.file(path.join(dir, 'memory.max_usage_in_bytes'));
    this.stat = this.file(path.join(dir, 'memory.stat'));
    this.kmem = this.file(path.join(dir, 'memory.kmem.usage_in_bytes'));
    this.oom = this.file(path.join(dir, 'memory.oom_control'));
  }

  sample(s: CgroupStats): number {
    const { r, v } = this;
    this.stat.keyed(STAT_KEYS, v);
    this.oom.keyed(OOM_KEYS, this.o);
    r.usage = this.usage.value();
    r.oomKills = at(this.o, 0);
    r.maxUsage = this.maxUsage.value();
    r.kernelUsage = this.kmem.value();
    r.rss = at(v, 0);
    r.cache = at(v, 1);
    r.swap = at(v, 2);
    r.mappedFile = at(v, 3);
    r.pgfault = at(v, 4);
    r.pgmajfault = at(v, 5);
    return putMemory(s, r);
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new MemorySampler(dir)]);
}
