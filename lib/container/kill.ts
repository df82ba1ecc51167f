import { parseSignal } from '../signals';
import type { Runtime } from './runtime';
import { readRecord, openInit } from './start';
import { currentStatus } from './state';
import { canKill } from './status';

/** Signals the init, or with all every process in the container's cgroup. */
export function kill(rt: Runtime, id: string, signal: string | number = 'SIGTERM', all = false): void {
  const sig = parseSignal(signal);
  const rec = readRecord(rt, id);
  canKill(id, currentStatus(rt, rec));
  if (all) {
    for (const pid of rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths).pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone in the meantime
      }
    }
    return;
  }
  const pidfd = openInit(rt, rec);
  try {
    rt.sys.signal(pidfd, sig);
  } finally {
    rt.sys.close(pidfd);
  }
}
