import * as fs from 'node:fs';
import type { Runtime } from './runtime';
import type { ContainerRecord } from './state-store';
import type { ContainerStatus } from './status';

/** Whether the record's init is still the same live process: pid and start time, against pid reuse. */
export function initAlive(rt: Runtime, rec: ContainerRecord): boolean {
  const st = rt.sys.procStat(rec.pid);
  return !!st && st.startTime === rec.startTime && st.state !== 'Z' && st.state !== 'X';
}

/**
 * The status, learned without a monitor process, as runc does: a dead (or reused) pid is
 * stopped; a live one still waiting on exec.fifo is created; a frozen cgroup is paused.
 */
export function currentStatus(rt: Runtime, rec: ContainerRecord): ContainerStatus {
  if (!initAlive(rt, rec)) return 'stopped';
  // before the fifo check, as runc: a created container may be paused too
  if (isFrozen(rt, rec)) return 'paused';
  if (fs.existsSync(rt.store.fifoPath(rec.id))) return 'created';
  return 'running';
}

/** Whether the container's freezer says frozen: one small file read; false when there is no freezer. */
function isFrozen(rt: Runtime, rec: ContainerRecord): boolean {
  try {
    return rt.cgroups(rec.id, rec.cgroupsPath, rec.cgroupPaths).isFrozen();
  } catch {
    return rec.status === 'paused';
  }
}

/** OOM kills in the container's memory cgroup so far; 0 when it cannot be read (gone, no memory controller). */
export function oomKills(rt: Runtime, rec: ContainerRecord): number {
  try {
    return rt.cgroups(rec.id, rec.cgroupsPath, rec.cgroupPaths).oomKillCount();
  } catch {
    return 0;
  }
}

export interface OciState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** hull's addition: present (true) once the kernel OOM-killed a process of the container */
  oomKilled?: true;
}

/** The runtime-spec state of a container (runc's `state` output). */
export function state(rt: Runtime, id: string): OciState {
  const rec = rt.store.read(id);
  if (!rec) {
    return { ociVersion: '1.2.0', id, status: 'creating', pid: 0, bundle: '', rootfs: '', created: '', owner: '', annotations: {} };
  }
  const status = currentStatus(rt, rec);
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status,
    pid: status === 'stopped' ? 0 : rec.pid,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    annotations: rec.annotations,
    ...(oomKills(rt, rec) > 0 ? { oomKilled: true as const } : {}),
  };
}
