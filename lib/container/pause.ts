/** `pause` and `resume` (runc's): freeze and thaw every process of the container through its cgroup. */
import type { Runtime } from './runtime';
import { readRecord } from './start';
import { currentStatus } from './state';
import { canPause, canResume } from './status';

/** Freezes the container; its status reads `paused` for as long as the freezer says frozen. */
export async function pause(rt: Runtime, id: string): Promise<void> {
  const rec = readRecord(rt, id);
  canPause(id, currentStatus(rt, rec));
  await rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths).freeze();
}

/** Thaws a paused container. */
export async function resume(rt: Runtime, id: string): Promise<void> {
  const rec = readRecord(rt, id);
  canResume(id, currentStatus(rt, rec));
  await rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths).thaw();
}
