import { writeCgroupFile } from '../files';
import type { LinuxResources } from '../resources';

/** cgroup v2 hugetlb: `hugetlb.<size>.max`, -1 → `max`. */
export function apply(dir: string, r: LinuxResources): void {
  r.hugepageLimits?.forEach((h, i) => {
    const value = h.limit === -1 ? 'max' : String(h.limit);
    writeCgroupFile(dir, `hugetlb.${h.pageSize}.max`, value, `linux.resources.hugepageLimits[${i}]`);
  });
}
