import * as path from 'node:path';
import { HullError } from '../../errors';
import { readCgroupFile, sleep, writeCgroupFile } from '../files';

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export interface FreezeOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * cgroup v1 freezer (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). Writing FROZEN starts freezing;
 * the state reads FREEZING until every task has stopped. A task in an uninterruptible sleep can hold that up, so
 * the write is repeated while polling (as runc does) and, at the deadline, the cgroup is thawed and we fail.
 */
export async function freeze(dir: string, opts: FreezeOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 2000);
  for (let i = 0; ; i++) {
    if (i % 10 === 0) writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    if (state(dir) === 'FROZEN') return;
    if (Date.now() > deadline) break;
    await sleep(opts.pollMs ?? 2);
  }
  writeCgroupFile(dir, 'freezer.state', 'THAWED');
  throw new HullError(`freeze \`${path.join(dir, 'freezer.state')}\`: still FREEZING after ${opts.timeoutMs ?? 2000} ms`, {
    code: 'EBUSY',
    path: path.join(dir, 'freezer.state'),
  });
}

export async function thaw(dir: string, opts: FreezeOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 2000);
  writeCgroupFile(dir, 'freezer.state', 'THAWED');
  while (state(dir) !== 'THAWED') {
    if (Date.now() > deadline) {
      throw new HullError(`thaw \`${path.join(dir, 'freezer.state')}\`: not THAWED after ${opts.timeoutMs ?? 2000} ms`, {
        code: 'EBUSY',
        path: path.join(dir, 'freezer.state'),
      });
    }
    await sleep(opts.pollMs ?? 2);
  }
}

export function state(dir: string): FreezerState {
  return readCgroupFile(dir, 'freezer.state').trim() as FreezerState;
}

export function isFrozen(dir: string): boolean {
  return state(dir) !== 'THAWED';
}
