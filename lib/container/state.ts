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
  if (fs.existsSync(rt.store.fifoPath(rec.id))) return 'created';
  if (rec.status === 'paused') return 'paused';
  return 'running';
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
  };
}
