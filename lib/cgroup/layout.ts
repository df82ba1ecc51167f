import * as path from 'node:path';
import { HullError } from '../errors';
import type { CgroupHost, CgroupMode, Hierarchy } from './detect';

/** The controllers hull drives, by their v1 names. */
export type ControllerName = 'memory' | 'cpu' | 'cpuacct' | 'cpuset' | 'pids' | 'devices' | 'freezer' | 'blkio' | 'hugetlb';

export const CONTROLLERS: readonly ControllerName[] = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'devices', 'freezer', 'blkio', 'hugetlb'];

/**
 * The v2 equivalent of each v1 controller; null when v2 has it in the core of every cgroup: cgroup.freeze replaces
 * the freezer, cpu.stat's usage replaces cpuacct, and devices are an eBPF program rather than a controller.
 */
export const V2_NAME: Record<ControllerName, string | null> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuacct: null,
  cpuset: 'cpuset',
  pids: 'pids',
  devices: null,
  freezer: null,
  blkio: 'io',
  hugetlb: 'hugetlb',
};

/** The key of the cgroup v2 hierarchy in paths(). */
export const UNIFIED = 'unified';

/** The container's directory in one mounted hierarchy. */
export interface HierarchyDir {
  version: 1 | 2;
  /** its keys in paths(): v1 controllers (`cpu`, `cpuacct`), named hierarchies (`name=systemd`), or `unified` */
  keys: string[];
  mountpoint: string;
  dir: string;
}

/** Where one controller is driven, and through which interface. */
export interface ControllerDir {
  version: 1 | 2;
  dir: string;
  mountpoint: string;
  /** v2: the controller to enable in the parents' cgroup.subtree_control; null for core files */
  v2Name: string | null;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** every hierarchy the container's processes join: v1 ones first, then the unified one */
  hierarchies: HierarchyDir[];
  /** a controller is served by its v1 hierarchy if mounted, else by the unified one if it has it there */
  controllers: Partial<Record<ControllerName, ControllerDir>>;
  unified?: HierarchyDir;
  /** the controllers the unified hierarchy's root offers (its cgroup.controllers) */
  unifiedAvailable: string[];
}

export function hierarchyKeys(h: Hierarchy): string[] {
  return h.version === 2 ? [UNIFIED] : h.controllers;
}

/** Lays out the container's cgroups on a host; `dirOf` gives its directory in each hierarchy. */
export function buildLayout(host: CgroupHost, dirOf: (h: Hierarchy) => string, unifiedAvailable: string[]): CgroupLayout {
  const hierarchies = host.hierarchies.map((h): HierarchyDir => {
    const dir = dirOf(h);
    checkBelowMount(dir, h.mountpoint);
    return { version: h.version, keys: hierarchyKeys(h), mountpoint: h.mountpoint, dir };
  });
  const unified = hierarchies.find((h) => h.version === 2);
  const controllers: Partial<Record<ControllerName, ControllerDir>> = {};
  for (const name of CONTROLLERS) {
    const c = controllerDir(name, hierarchies, unified, unifiedAvailable);
    if (c) controllers[name] = c;
  }
  return { mode: host.mode, hierarchies, controllers, ...(unified ? { unified } : {}), unifiedAvailable };
}

function controllerDir(
  name: ControllerName,
  hierarchies: HierarchyDir[],
  unified: HierarchyDir | undefined,
  available: string[],
): ControllerDir | undefined {
  const v1 = hierarchies.find((h) => h.version === 1 && h.keys.includes(name));
  if (v1) return { version: 1, dir: v1.dir, mountpoint: v1.mountpoint, v2Name: null };
  const v2Name = V2_NAME[name];
  if (!unified || (v2Name !== null && !available.includes(v2Name))) return undefined;
  return { version: 2, dir: unified.dir, mountpoint: unified.mountpoint, v2Name };
}

/** Destroy removes the directory and kills what is in it: it must never be a hierarchy root or outside it. */
function checkBelowMount(dir: string, mountpoint: string): void {
  const rel = path.relative(mountpoint, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new HullError(`cgroup directory \`${dir}\` is not below the hierarchy mounted at \`${mountpoint}\``, {
      code: 'EINVALIDARG',
      path: dir,
    });
  }
}
