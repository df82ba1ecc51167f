import * as path from 'node:path';
import { configError } from '../errors';
import type { CgroupMode, Hierarchy } from './detect';

/** A validated `linux.cgroupsPath`: cleaned, without leading or trailing slashes. */
export interface CgroupPath {
  /** absolute paths are taken from each hierarchy's root; relative ones from the runtime's own cgroup */
  absolute: boolean;
  path: string;
}

const FIELD = 'linux.cgroupsPath';

/**
 * Resolves `linux.cgroupsPath` the way runc's cgroupfs driver does: absolute → that path in each hierarchy;
 * relative → below the runtime's own cgroup; absent or empty → relative `hull/<id>`.
 */
export function resolveCgroupsPath(cgroupsPath: string | undefined, id: string): CgroupPath {
  validateId(id);
  if (cgroupsPath === undefined || cgroupsPath === '') return { absolute: false, path: `hull/${id}` };
  if (/[\0\n]/.test(cgroupsPath)) throw configError(FIELD, 'must not contain NUL or newline characters');
  const parts = cgroupsPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw configError(FIELD, `\`${cgroupsPath}\` must not contain \`..\` components`);
  // a container's cgroup is removed on delete: never let that be a hierarchy root or our own cgroup
  if (parts.length === 0) throw configError(FIELD, `\`${cgroupsPath}\` must not name the root cgroup`);
  return { absolute: cgroupsPath.startsWith('/'), path: parts.join('/') };
}

function validateId(id: string): void {
  if (!id) throw configError('id', 'must not be empty');
  if (id === '.' || id === '..' || /[/\0\n]/.test(id)) {
    throw configError('id', `\`${id}\` must be a single path component`);
  }
}

/**
 * The container's directory in one hierarchy. On pure v2 a relative path starts at the PARENT of our own
 * cgroup, as runc does: the kernel's "no internal processes" rule (cgroup-v2.rst) forbids enabling controllers
 * in a non-root cgroup that has processes, and our own cgroup has us.
 */
export function hierarchyDir(h: Hierarchy, p: CgroupPath, mode: CgroupMode): string {
  if (p.absolute) return path.join(h.mountpoint, p.path);
  const base = mode === 'v2' && h.ownDir !== h.mountpoint ? path.dirname(h.ownDir) : h.ownDir;
  return path.join(base, p.path);
}
