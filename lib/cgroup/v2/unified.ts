import { writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';

/** `linux.resources.unified`: raw cgroup v2 files, written last so they override the mapped values (as runc). */
export function apply(dir: string, r: LinuxResources): void {
  if (!r.unified) return;
  for (const [file, value] of Object.entries(r.unified)) {
    writeCgroupFile(dir, file, value, `linux.resources.unified.${file}`);
  }
}
