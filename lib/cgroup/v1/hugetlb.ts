import { writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';

/** cgroup v1 hugetlb: `hugetlb.<size>.limit_in_bytes`, size spelled as the spec's pageSize (`2MB`). */
export function apply(dir: string, r: LinuxResources): void {
  r.hugepageLimits?.forEach((h, i) => {
    writeCgroupFile(dir, `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit), `linux.resources.hugepageLimits[${i}]`);
  });
}
