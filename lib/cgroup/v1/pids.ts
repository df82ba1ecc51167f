import * as path from 'node:path';
import { writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';
import { type CgroupStats, type StatFile, FileSampler, bitIf, measuredBit, sampleOnce } from '../stats';

/** The pids controller has the same files on v1 and v2 (Documentation/admin-guide/cgroup-v1/pids.rst). */
export function apply(dir: string, r: LinuxResources): void {
  const limit = r.pids?.limit;
  if (limit === undefined) return;
  // ≤ 0 is "no limit" per the runtime spec (runc #4023)
  writeCgroupFile(dir, 'pids.max', limit > 0 ? String(limit) : 'max', 'linux.resources.pids.limit');
}

const B = { current: measuredBit('pids.current'), limit: measuredBit('pids.limit') };

export class PidsSampler extends FileSampler {
  private readonly current: StatFile;
  private readonly max: StatFile;

  constructor(dir: string) {
    super();
    this.current = this.file(path.join(dir, 'pids.current'));
    this.max = this.file(path.join(dir, 'pids.max'));
  }

  sample(s: CgroupStats): number {
    const current = this.current.value();
    const max = this.max.value();
    s.pids.current = Number.isNaN(current) ? 0 : current;
    s.pids.limit = Number.isFinite(max) ? max : undefined;
    return bitIf(current, B.current) | bitIf(max, B.limit);
  }
}

export function stats(dir: string): CgroupStats {
  return sampleOnce([new PidsSampler(dir)]);
}
