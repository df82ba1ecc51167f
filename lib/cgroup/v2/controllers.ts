import { ancestry, readOptionalCgroupFile, writeCgroupFile } from '../files';

/** The controllers a v2 cgroup can hand down, from its cgroup.controllers ([] if absent). */
export function availableControllers(dir: string): string[] {
  return (readOptionalCgroupFile(dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Enables `controllers` on the way from the mount down to `dir`: a v2 controller's files appear in a cgroup only
 * when its parent lists it in cgroup.subtree_control, all the way from the root. Best effort per controller, as in
 * runc's CreateCgroupPath: a parent with processes of its own refuses (EBUSY, "no internal processes"), and a
 * missing controller then shows as a missing file when its limit is written, naming that file.
 */
export function enableControllers(mountpoint: string, dir: string, controllers: readonly string[]): void {
  if (controllers.length === 0) return;
  const parents = [mountpoint, ...ancestry(mountpoint, dir)].filter((d) => d !== dir);
  for (const p of parents) enableIn(p, controllers);
}

function enableIn(dir: string, controllers: readonly string[]): void {
  const enabled = new Set((readOptionalCgroupFile(dir, 'cgroup.subtree_control') ?? '').split(/\s+/));
  const missing = controllers.filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  try {
    writeCgroupFile(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
  } catch {
    for (const c of missing) tryEnable(dir, c);
  }
}

function tryEnable(dir: string, controller: string): void {
  try {
    writeCgroupFile(dir, 'cgroup.subtree_control', `+${controller}`);
  } catch {
    // see enableControllers: reported later, where the missing file is needed
  }
}
