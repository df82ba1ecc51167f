import { createCgroupManager, type CgroupManager } from '../cgroup';
import { StateStore } from './state-store';
import { nativeSyscalls, type Syscalls } from './syscalls';

/** What the verbs work with: where state lives, the kernel seam, and how cgroups are made. */
export interface Runtime {
  store: StateStore;
  sys: Syscalls;
  /** paths: the directories saved at create, which win over resolving cgroupsPath again */
  cgroups(id: string, cgroupsPath: string | undefined, paths?: Record<string, string>): CgroupManager;
}

export function defaultRuntime(root?: string): Runtime {
  return {
    store: new StateStore(root),
    sys: nativeSyscalls,
    cgroups: (id, cgroupsPath, paths) =>
      createCgroupManager({ id, ...(cgroupsPath !== undefined ? { cgroupsPath } : {}), ...(paths ? { paths } : {}) }),
  };
}
