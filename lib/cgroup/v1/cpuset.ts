import * as path from 'node:path';
import { ancestry, makeCgroupDir, readCgroupFile, writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';

const F = 'linux.resources.cpu';

/** cgroup v1 cpuset controller (Documentation/admin-guide/cgroup-v1/cpusets.rst). */
export function apply(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.cpus) writeCgroupFile(dir, 'cpuset.cpus', c.cpus, `${F}.cpus`);
  if (c.mems) writeCgroupFile(dir, 'cpuset.mems', c.mems, `${F}.mems`);
}

/**
 * Creates `dir` below the cpuset mount. A new v1 cpuset starts with empty cpus and mems, and the kernel refuses
 * to attach a task to it (ENOSPC) until both are set; so, top-down, fill each empty one from its parent.
 */
export function createDir(mountpoint: string, dir: string): void {
  makeCgroupDir(dir);
  for (const d of ancestry(mountpoint, dir)) {
    copyFromParent(d, 'cpuset.cpus');
    copyFromParent(d, 'cpuset.mems');
  }
}

function copyFromParent(dir: string, file: string): void {
  if (readCgroupFile(dir, file).trim() !== '') return;
  const parent = readCgroupFile(path.dirname(dir), file).trim();
  writeCgroupFile(dir, file, parent);
}
