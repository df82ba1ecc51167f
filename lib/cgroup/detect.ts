import * as path from 'node:path';
import { HullError } from '../errors';
import { cgroupIoError, readPseudoFile } from './files';
import { type MountinfoEntry, type ProcCgroupEntry, parseMountinfo, parseProcCgroup } from './parse';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/** The standard place of the cgroup filesystems; `cgroupRoot` in tests replaces this prefix. */
export const SYS_FS_CGROUP = '/sys/fs/cgroup';

/** One cgroup hierarchy this process belongs to, with where it is mounted. */
export interface Hierarchy {
  version: 1 | 2;
  /** v1: the controllers bound to it (`['cpu', 'cpuacct']`, `['name=systemd']`); v2: `[]` */
  controllers: string[];
  mountpoint: string;
  /** the cgroup path the mount exposes at its mountpoint (`/` unless bind-mounted, as in nested containers) */
  mountRoot: string;
  /** this process's cgroup as /proc/<pid>/cgroup shows it */
  cgroupPath: string;
  /** this process's cgroup directory: mountpoint + (cgroupPath relative to mountRoot) */
  ownDir: string;
}

export interface CgroupHost {
  mode: CgroupMode;
  /** v1 hierarchies in /proc/<pid>/cgroup order, then the v2 one if mounted */
  hierarchies: Hierarchy[];
  unified?: Hierarchy;
}

export interface DetectOptions {
  procRoot?: string;
  selfPid?: string | number;
  /** replaces the `/sys/fs/cgroup` prefix of every mountpoint (fixture trees in tests) */
  cgroupRoot?: string;
}

const cache = new Map<string, CgroupHost>();

/**
 * Finds the cgroup hierarchies of a process and their mounts, from /proc/<pid>/cgroup and /proc/<pid>/mountinfo.
 * Mounts, not the fs magic of /sys/fs/cgroup, decide the mode, so a cgroup2 mount at /sys/fs/cgroup/unified next to
 * v1 controllers reads as hybrid. Cached per (procRoot, pid, cgroupRoot): mounts do not change under a runtime.
 */
export function detectHierarchies(opts: DetectOptions = {}): CgroupHost {
  const procRoot = opts.procRoot ?? '/proc';
  const pid = String(opts.selfPid ?? 'self');
  const key = `${procRoot}\0${pid}\0${opts.cgroupRoot ?? ''}`;
  let host = cache.get(key);
  if (!host) {
    host = detectUncached(procRoot, pid, opts.cgroupRoot);
    cache.set(key, host);
  }
  return host;
}

export function clearDetectionCache(): void {
  cache.clear();
}

function detectUncached(procRoot: string, pid: string, cgroupRoot: string | undefined): CgroupHost {
  const cgroupFile = path.join(procRoot, pid, 'cgroup');
  const entries = parseProcCgroup(readProcFile(cgroupFile));
  const mounts = parseMountinfo(readProcFile(path.join(procRoot, pid, 'mountinfo')));
  const hierarchies: Hierarchy[] = [];
  for (const entry of entries) {
    const h = matchHierarchy(entry, mounts, cgroupRoot);
    if (h) hierarchies.push(h);
  }
  return hostFrom(hierarchies, cgroupFile);
}

function hostFrom(found: Hierarchy[], cgroupFile: string): CgroupHost {
  const v1 = found.filter((h) => h.version === 1);
  const unified = found.find((h) => h.version === 2);
  if (!unified && v1.length === 0) {
    throw new HullError(`no cgroup hierarchy listed in \`${cgroupFile}\` is mounted`, {
      code: 'ENOTFOUND',
      path: cgroupFile,
    });
  }
  const mode: CgroupMode = !unified ? 'v1' : v1.length === 0 ? 'v2' : 'hybrid';
  return { mode, hierarchies: unified ? [...v1, unified] : v1, ...(unified ? { unified } : {}) };
}

function readProcFile(p: string): string {
  try {
    return readPseudoFile(p);
  } catch (e) {
    throw cgroupIoError(e, `read \`${p}\``, p);
  }
}

function matchHierarchy(entry: ProcCgroupEntry, mounts: MountinfoEntry[], cgroupRoot?: string): Hierarchy | undefined {
  const v2 = entry.controllers.length === 0;
  const candidates = mounts.filter((m) => (v2 ? m.fstype === 'cgroup2' : isV1MountOf(m, entry.controllers)));
  const mount = pickMount(candidates, entry.path);
  if (!mount) return undefined; // a hierarchy mounted nowhere we can see (e.g. rdma, net_cls on some hosts)
  const mountpoint = rebase(mount.mountpoint, cgroupRoot);
  return {
    version: v2 ? 2 : 1,
    controllers: entry.controllers,
    mountpoint,
    mountRoot: mount.root,
    cgroupPath: entry.path,
    ownDir: ownDir(mountpoint, mount.root, entry.path),
  };
}

function isV1MountOf(m: MountinfoEntry, controllers: string[]): boolean {
  if (m.fstype !== 'cgroup') return false;
  const opts = m.superOptions.split(',');
  return controllers.every((c) => opts.includes(c));
}

/**
 * A hierarchy may be mounted more than once (bind mounts in nested containers). Prefer the mount whose root
 * contains our cgroup, the deepest such root, so that mountpoint + relative path is a real directory.
 */
function pickMount(candidates: MountinfoEntry[], cgroupPath: string): MountinfoEntry | undefined {
  let best: MountinfoEntry | undefined;
  for (const m of candidates) {
    if (!isWithin(m.root, cgroupPath)) continue;
    if (!best || m.root.length > best.root.length) best = m;
  }
  return best ?? candidates[0];
}

function isWithin(root: string, p: string): boolean {
  return root === '/' || p === root || p.startsWith(root + '/');
}

/**
 * A process's cgroup directory: the mount shows the hierarchy from `root` down, so strip that prefix.
 * When our cgroup lies outside the mount's root (a cgroup namespace whose root is above the mount's), the
 * mountpoint is the closest directory we can reach.
 */
function ownDir(mountpoint: string, root: string, cgroupPath: string): string {
  if (!isWithin(root, cgroupPath)) return mountpoint;
  const rel = root === '/' ? cgroupPath : cgroupPath.slice(root.length);
  // join keeps a trailing slash ("/" → "/sys/fs/cgroup/"); the dir must compare equal to the mountpoint
  return path.join(mountpoint, rel).replace(/(.)\/+$/, '$1');
}

function rebase(mountpoint: string, cgroupRoot: string | undefined): string {
  if (cgroupRoot === undefined) return mountpoint;
  if (mountpoint !== SYS_FS_CGROUP && !mountpoint.startsWith(SYS_FS_CGROUP + '/')) return mountpoint;
  return path.join(cgroupRoot, mountpoint.slice(SYS_FS_CGROUP.length));
}
