import * as path from 'node:path';
import { HullError } from '../../errors';
import { isErrno, readCgroupFile, writeCgroupFile } from '../files';
import type { LinuxCPU, LinuxResources } from '../resources';
import { type CgroupStats, KeySet, type StatFile, FileSampler, at, measuredBit, put, sampleOnce } from '../stats';

const F = 'linux.resources.cpu';

/** cgroup v1 cpu controller: CFS shares and bandwidth (Documentation/scheduler/sched-bwc.rst), RT budget. */
export function apply(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.shares) setShares(dir, c.shares);
  setBandwidth(dir, c);
  if (c.burst !== undefined) writeCgroupFile(dir, 'cpu.cfs_burst_us', String(c.burst), `${F}.burst`);
  // the RT period must be in place before a runtime that only fits the new period
  if (c.realtimePeriod) writeCgroupFile(dir, 'cpu.rt_period_us', String(c.realtimePeriod), `${F}.realtimePeriod`);
  if (c.realtimeRuntime) writeCgroupFile(dir, 'cpu.rt_runtime_us', String(c.realtimeRuntime), `${F}.realtimeRuntime`);
  if (c.idle !== undefined) writeCgroupFile(dir, 'cpu.idle', String(c.idle), `${F}.idle`);
}

/** The kernel clamps cpu.shares silently; read it back so a clamped value is an error, not a surprise. */
function setShares(dir: string, shares: number): void {
  writeCgroupFile(dir, 'cpu.shares', String(shares), `${F}.shares`);
  const actual = Number(readCgroupFile(dir, 'cpu.shares').trim());
  if (actual !== shares) {
    throw new HullError(`${F}.shares: the kernel set ${actual} instead of ${shares} in \`${path.join(dir, 'cpu.shares')}\``, {
      code: 'EINVAL',
      path: path.join(dir, 'cpu.shares'),
      field: `${F}.shares`,
    });
  }
}

/**
 * A smaller period can be refused (EINVAL) while the old quota/new period would exceed the parent's bandwidth;
 * as runc does, retry the period after the quota in that case.
 */
function setBandwidth(dir: string, c: LinuxCPU): void {
  let periodPending = false;
  if (c.period) {
    try {
      writeCgroupFile(dir, 'cpu.cfs_period_us', String(c.period), `${F}.period`);
    } catch (e) {
      if (!c.quota || !isErrno(e, 'EINVAL')) throw e;
      periodPending = true;
    }
  }
  if (c.quota) writeCgroupFile(dir, 'cpu.cfs_quota_us', String(c.quota), `${F}.quota`);
  if (periodPending) writeCgroupFile(dir, 'cpu.cfs_period_us', String(c.period), `${F}.period`);
}

const KEYS = new KeySet(['nr_throttled', 'throttled_time']);
const B = { periods: measuredBit('cpu.throttledPeriods'), time: measuredBit('cpu.throttledTimeNs') };

/** Throttling counters from v1 cpu.stat (throttled_time is in ns). */
export class CpuSampler extends FileSampler {
  private readonly stat: StatFile;
  private readonly v = new Float64Array(KEYS.keys.length);

  constructor(dir: string) {
    super();
    this.stat = this.file(path.join(dir, 'cpu.stat'));
  }

  sample(s: CgroupStats): number {
    this.stat.keyed(KEYS, this.v);
    return put(s.cpu, 'throttledPeriods', at(this.v, 0), B.periods) | put(s.cpu, 'throttledTimeNs', at(this.v, 1), B.time);
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new CpuSampler(dir)]);
}
