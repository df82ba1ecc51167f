import { writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';

const F = 'linux.resources.cpu';

/**
 * cgroup v2 cpuset. Unlike v1, an empty cpuset.cpus means "inherit the parent's effective cpus", so a new cgroup
 * needs no copying from its parent.
 */
export function apply(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.cpus) writeCgroupFile(dir, 'cpuset.cpus', c.cpus, `${F}.cpus`);
  if (c.mems) writeCgroupFile(dir, 'cpuset.mems', c.mems, `${F}.mems`);
}
