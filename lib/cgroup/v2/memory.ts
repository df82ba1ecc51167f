import * as path from 'node:path';
import { cgroupFileExists, isErrno, readCgroupFile, warnOnce, writeCgroupFile } from '../files';
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
  putMemory,
  sampleOnce,
} from '../stats';

const F = 'linux.resources.memory';

/** The spec's 0 / -1 / bytes as a v2 file value: undefined (leave alone), `max`, or the number. */
function toV2(n: number | undefined): string | undefined {
  if (!n) return undefined;
  return n === -1 ? 'max' : String(n);
}

/**
 * The spec's swap is memory+swap (v1 memsw); v2 memory.swap.max is swap alone, so it is swap - limit
 * (runc ConvertMemorySwapToCgroupV2Value). Unlimited memory with no swap value means unlimited swap too.
 */
export function swapMaxValue(m: LinuxMemory): string | undefined {
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  if (limit === -1 && swap === 0) return 'max';
  if (swap === -1) return 'max';
  if (swap === 0) return undefined;
  return String(swap - limit);
}

/** cgroup v2 memory controller (Documentation/admin-guide/cgroup-v2.rst "Memory"). */
export function apply(dir: string, r: LinuxResources): void {
  // one OOM kill takes the whole container, as a container is one unit of work (Linux 4.19+)
  if (cgroupFileExists(dir, 'memory.oom.group')) writeCgroupFile(dir, 'memory.oom.group', '1');
  const m = r.memory;
  if (!m) return;
  if (m.checkBeforeUpdate) checkLimitAboveUsage(dir, 'memory.current', m.limit);
  setSwap(dir, swapMaxValue(m));
  const max = toV2(m.limit);
  if (max) writeCgroupFile(dir, 'memory.max', max, `${F}.limit`);
  const low = toV2(m.reservation);
  if (low) writeCgroupFile(dir, 'memory.low', low, `${F}.reservation`);
  warnUnsupported(m);
}

/** Without swap accounting there is no memory.swap.max; "no swap" and "unlimited" then hold already. */
function setSwap(dir: string, value: string | undefined): void {
  if (value === undefined) return;
  try {
    writeCgroupFile(dir, 'memory.swap.max', value, `${F}.swap`);
  } catch (e) {
    if (!(isErrno(e, 'ENOENT') && (value === 'max' || value === '0'))) throw e;
  }
}

function warnUnsupported(m: LinuxMemory): void {
  if (m.kernel) warnOnce('HULL_CGROUP_KMEM', `${F}.kernel is ignored: kernel memory limits are deprecated since Linux 5.4`);
  if (m.kernelTCP) warnOnce('HULL_CGROUP_V2_KMEM_TCP', `${F}.kernelTCP is ignored: cgroup v2 has no tcp memory limit`);
  if (m.swappiness !== undefined) warnOnce('HULL_CGROUP_V2_SWAPPINESS', `${F}.swappiness is ignored: cgroup v2 has no per-cgroup swappiness`);
  if (m.disableOOMKiller) warnOnce('HULL_CGROUP_V2_OOM', `${F}.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer`);
}

/** memory.events `oom_kill` (Linux 4.13+): counts kills in this cgroup and its descendants. */
export function oomKillCount(dir: string): number {
  return parseFlatKeyed(readCgroupFile(dir, 'memory.events'))['oom_kill'] ?? 0;
}

const STAT_KEYS = new KeySet(['anon', 'file', 'file_mapped', 'pgfault', 'pgmajfault', 'kernel']);
const EVENT_KEYS = new KeySet(['oom_kill']);
/** Samples a v2 memory cgroup: rss ← anon, cache ← file; `kernel` exists from Linux 5.18, memory.peak from 5.19. */
export class MemorySampler extends FileSampler {
  private readonly current: StatFile;
  private readonly peak: StatFile;
  private readonly stat: StatFile;
  private readonly swap: StatFile;
  private readonly events: StatFile;
  private readonly v = new Float64Array(STAT_KEYS.keys.length);
  private readonly e = new Float64Array(1);
  private readonly r = memoryReading();

  constructor(dir: string) {
    super();
    this.current = this.file(path.join(dir, 'memory.current'));
    this.peak = this.file(path.join(dir, 'memory.peak'));
    this.stat = this.file(path.join(dir, 'memory.stat'));
    this.swap = this.file(path.join(dir, 'memory.swap.current'));
    this.events = this.file(path.join(dir, 'memory.events'));
  }

  sample(s: CgroupStats): number {
    const { r, v } = this;
    this.stat.keyed(STAT_KEYS, v);
    this.events.keyed(EVENT_KEYS, this.e);
    r.usage = this.current.value();
    r.oomKills = at(this.e, 0);
    r.maxUsage = this.peak.value();
    r.swap = this.swap.value();
    r.rss = at(v, 0);
    r.cache = at(v, 1);
    r.mappedFile = at(v, 2);
    r.pgfault = at(v, 3);
    r.pgmajfault = at(v, 4);
    r.kernelUsage = at(v, 5);
    return putMemory(s, r);
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new MemorySampler(dir)]);
}
