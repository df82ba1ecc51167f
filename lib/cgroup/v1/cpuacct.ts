import * as path from 'node:path';
import { type CgroupStats, KeySet, type StatFile, FileSampler, at, measuredBit, put, sampleOnce } from '../stats';

/**
 * cpuacct.stat counts in USER_HZ ticks, which the kernel fixes at 100 for userspace whatever CONFIG_HZ is
 * (include/asm-generic/param.h), so one tick is 10 ms.
 */
export const NS_PER_USER_HZ_TICK = 10_000_000;

const KEYS = new KeySet(['user', 'system']);
const B = { total: measuredBit('cpu.totalNs'), user: measuredBit('cpu.userNs'), system: measuredBit('cpu.systemNs') };

/** cgroup v1 cpuacct: accounting only, nothing to apply. */
export class CpuacctSampler extends FileSampler {
  private readonly usage: StatFile;
  private readonly stat: StatFile;
  private readonly v = new Float64Array(KEYS.keys.length);

  constructor(dir: string) {
    super();
    this.usage = this.file(path.join(dir, 'cpuacct.usage'));
    this.stat = this.file(path.join(dir, 'cpuacct.stat'));
  }

  sample(s: CgroupStats): number {
    this.stat.keyed(KEYS, this.v);
    return (
      put(s.cpu, 'totalNs', this.usage.value(), B.total) |
      put(s.cpu, 'userNs', at(this.v, 0) * NS_PER_USER_HZ_TICK, B.user) |
      put(s.cpu, 'systemNs', at(this.v, 1) * NS_PER_USER_HZ_TICK, B.system)
    );
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new CpuacctSampler(dir)]);
}
