import * as path from 'node:path';
import { HullError } from '../../errors';
import { readCgroupFile, sleep, writeCgroupFile } from '../files';
import { parseFlatKeyed } from '../stats';

export interface FreezeOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * The v2 freezer is in the core (Linux 5.2+): write cgroup.freeze, then wait for cgroup.events to report
 * `frozen 1` (or 0), which the kernel sets once every task has stopped (or resumed).
 */
export async function freeze(dir: string, opts: FreezeOptions = {}): Promise<void> {
  writeCgroupFile(dir, 'cgroup.freeze', '1');
  try {
    await waitFrozen(dir, true, opts);
  } catch (e) {
    writeCgroupFile(dir, 'cgroup.freeze', '0');
    throw e;
  }
}

export async function thaw(dir: string, opts: FreezeOptions = {}): Promise<void> {
  writeCgroupFile(dir, 'cgroup.freeze', '0');
  await waitFrozen(dir, false, opts);
}

export function isFrozen(dir: string): boolean {
  return parseFlatKeyed(readCgroupFile(dir, 'cgroup.events'))['frozen'] === 1;
}

async function waitFrozen(dir: string, want: boolean, opts: FreezeOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const deadline = Date.now() + timeoutMs;
  while (isFrozen(dir) !== want) {
    if (Date.now() > deadline) {
      const p = path.join(dir, 'cgroup.events');
      throw new HullError(`${want ? 'freeze' : 'thaw'} \`${dir}\`: \`${p}\` still says frozen ${want ? 0 : 1} after ${timeoutMs} ms`, {
        code: 'EBUSY',
        path: p,
      });
    }
    await sleep(opts.pollMs ?? 2);
  }
}
