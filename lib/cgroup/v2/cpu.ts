import * as path from 'node:path';
import { HullError } from '../../errors';
import { writeCgroupFile } from '../files';
import type { LinuxCPU, LinuxResources } from '../resources';
import { type CgroupStats, KeySet, type StatFile, FileSampler, at, measuredBit, put, sampleOnce } from '../stats';

const F = 'linux.resources.cpu';

/**
 * v1 cpu.shares [2, 262144] → v2 cpu.weight [1, 10000], linearly, as runc does (so 1024 shares → weight 39,
 * not 100: a known quirk kept for compatibility with other runtimes). 0 stays "not set".
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The cpu.max line: "$QUOTA $PERIOD", quota `max` when unlimited; period omitted keeps the kernel's. */
export function cpuMaxValue(c: LinuxCPU): string | undefined {
  if (!c.quota && !c.period) return undefined;
  const quota = c.quota && c.quota > 0 ? String(c.quota) : 'max';
  return c.period ? `${quota} ${c.period}` : quota;
}

/** cgroup v2 cpu controller (Documentation/admin-guide/cgroup-v2.rst "CPU"). */
export function apply(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.realtimeRuntime || c.realtimePeriod) {
    throw new HullError(`${F}.realtimeRuntime: real-time cpu budgets are not supported on cgroup v2`, {
      code: 'EUNSUPPORTED',
      field: `${F}.realtimeRuntime`,
    });
  }
  if (c.shares) writeCgroupFile(dir, 'cpu.weight', String(sharesToWeight(c.shares)), `${F}.shares`);
  const max = cpuMaxValue(c);
  if (max) writeCgroupFile(dir, 'cpu.max', max, `${F}.quota`);
  if (c.burst !== undefined) writeCgroupFile(dir, 'cpu.max.burst', String(c.burst), `${F}.burst`);
  if (c.idle !== undefined) writeCgroupFile(dir, 'cpu.idle', String(c.idle), `${F}.idle`);
}

const KEYS = new KeySet(['usage_usec', 'user_usec', 'system_usec', 'nr_throttled', 'throttled_usec']);
const B = {
  total: measuredBit('cpu.totalNs'),
  user: measuredBit('cpu.userNs'),
  system: measuredBit('cpu.systemNs'),
  periods: measuredBit('cpu.throttledPeriods'),
  time: measuredBit('cpu.throttledTimeNs'),
};

/** v2 cpu.stat: the usage keys exist in every cgroup, the throttling ones only with the cpu controller enabled. */
export class CpuSampler extends FileSampler {
  private readonly stat: StatFile;
  private readonly v = new Float64Array(KEYS.keys.length);

  constructor(dir: string) {
    super();
    this.stat = this.file(path.join(dir, 'cpu.stat'));
  }

  sample(s: CgroupStats): number {
    const v = this.v;
    this.stat.keyed(KEYS, v);
    return (
      put(s.cpu, 'totalNs', at(v, 0) * 1000, B.total) |
      put(s.cpu, 'userNs', at(v, 1) * 1000, B.user) |
      put(s.cpu, 'systemNs', at(v, 2) * 1000, B.system) |
      put(s.cpu, 'throttledPeriods', at(v, 3), B.periods) |
      put(s.cpu, 'throttledTimeNs', at(v, 4) * 1000, B.time)
    );
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new CpuSampler(dir)]);
}
