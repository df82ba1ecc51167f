import type { Runtime } from './runtime';
import { currentStatus, initAlive } from './state';
import { canDelete } from './status';

/**
 * Deletes a stopped container, or with force any container: its processes are killed and its
 * cgroups and state removed. A container still being created (no state yet) is removed with
 * force only.
 */
export async function remove(rt: Runtime, id: string, force = false): Promise<void> {
  const rec = rt.store.read(id);
  const status = rec ? currentStatus(rt, rec) : 'creating';
  canDelete(id, status, force);
  const cg = rt.cgroups(id, rec?.cgroupsPath, rec?.cgroupPaths);
  if (rec && initAlive(rt, rec)) {
    // the cgroup kill below reaches every process; this covers an init whose cgroup is gone
    try {
      const pidfd = rt.sys.pidfdOpen(rec.pid);
      rt.sys.signal(pidfd, 9);
      rt.sys.close(pidfd);
    } catch {
      // exited meanwhile
    }
  }
  await cg.destroy();
  rt.store.remove(id);
}
