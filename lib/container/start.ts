import { HullError } from '../errors';
import type { Runtime } from './runtime';
import { currentStatus } from './state';
import { type ContainerRecord, unlinkIfThere } from './state-store';
import { canStart } from './status';

/** How long start waits for an init that is already blocked on the fifo. */
const RELEASE_TIMEOUT_MS = 10_000;

/** Opens a pidfd of the record's init, and checks it is still that process, not a reused pid. */
export function openInit(rt: Runtime, rec: ContainerRecord): number {
  const pidfd = rt.sys.pidfdOpen(rec.pid);
  const st = rt.sys.procStat(rec.pid);
  if (!st || st.startTime !== rec.startTime) {
    rt.sys.close(pidfd);
    throw new HullError(`container \`${rec.id}\`: init process ${rec.pid} has exited`, { code: 'ESRCH' });
  }
  return pidfd;
}

function readRecord(rt: Runtime, id: string): ContainerRecord {
  const rec = rt.store.read(id);
  if (!rec) throw new HullError(`container \`${id}\` is still being created`, { code: 'ESTATE' });
  return rec;
}

/**
 * Lets the created init exec the task. `initPidfd`, a pidfd the caller holds of the init since
 * create (the library's Container), spares opening one: it cannot name a reused pid.
 */
export function start(rt: Runtime, id: string, initPidfd?: number): void {
  const rec = readRecord(rt, id);
  canStart(id, currentStatus(rt, rec));
  const pidfd = initPidfd ?? openInit(rt, rec);
  try {
    rt.sys.release(rt.store.fifoPath(id), pidfd, RELEASE_TIMEOUT_MS);
  } finally {
    if (initPidfd === undefined) rt.sys.close(pidfd);
  }
  unlinkIfThere(rt.store.fifoPath(id));
  rt.store.write({ ...rec, status: 'running' });
}

export { readRecord };
