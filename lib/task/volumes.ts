/**
 * Task volumes, as Nomad's `volume_mount` describes them, turned into OCI bind mounts.
 *
 * Propagation modes (Nomad's names, Docker's flags):
 * - `private` (and `''` or unset, which is what tasks from older Nomad versions carry): `rprivate`.
 *   Mounts made later on either side stay on that side.
 * - `host-to-task`: `rslave`. Mounts the host makes under the source after the task started
 *   appear in the task; the task's own mounts never reach the host.
 * - `bidirectional`: `rshared`. Both directions; the source must itself be a shared mount on the
 *   host for the task's mounts to reach it.
 *
 * Every check is made here, before any mount exists: the functions are pure.
 */
import * as path from 'node:path';
import { configError } from '../errors';
import type { Mount } from '../oci/schema';

export type VolumePropagation = 'private' | 'host-to-task' | 'bidirectional' | '';

export interface TaskVolume {
  /** absolute host path */
  source: string;
  /** absolute path in the task */
  destination: string;
  readOnly?: boolean;
  /** default (and `''`): private */
  propagation?: VolumePropagation;
}

/** Nomad's propagation modes → the OCI mount option; `''` is private. */
export const PROPAGATION_OPTIONS: Readonly<Record<VolumePropagation, string>> = Object.freeze({
  '': 'rprivate',
  private: 'rprivate',
  'host-to-task': 'rslave',
  bidirectional: 'rshared',
});

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function checkPath(field: string, value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw configError(field, `must be a non-empty string, got ${show(value)}`);
  if (value.includes('\0')) throw configError(field, `must not contain a NUL byte, got ${show(value)}`);
  if (!path.posix.isAbsolute(value)) throw configError(field, `${what} must be an absolute path, got ${show(value)}`);
  return value;
}

function propagationOf(v: TaskVolume, field: string): string {
  const mode = v.propagation ?? '';
  if (typeof mode !== 'string' || !Object.hasOwn(PROPAGATION_OPTIONS, mode)) {
    throw configError(field, `invalid propagation mode ${show(mode)}: must be "private", "host-to-task" or "bidirectional"`);
  }
  return PROPAGATION_OPTIONS[mode as VolumePropagation];
}

/**
 * One task volume → an OCI bind mount: `rbind`, `ro` or `rw`, and the propagation option. The
 * fields named in errors are `mounts[<index>].<field>`.
 */
export function volumeToMount(v: TaskVolume, index: number): Mount {
  const at = `mounts[${index}]`;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw configError(at, `must be an object, got ${show(v)}`);
  // a relative source would be resolved against whatever directory the runtime runs in (OCI
  // resolves it against the bundle): a task volume always names a host path
  const source = checkPath(`${at}.source`, v.source, 'the host path');
  const destination = checkPath(`${at}.destination`, v.destination, 'the path in the task');
  if (path.posix.normalize(destination) === '/') throw configError(`${at}.destination`, 'must not be the task\'s root');
  if (v.readOnly !== undefined && typeof v.readOnly !== 'boolean') {
    throw configError(`${at}.readOnly`, `must be a boolean, got ${show(v.readOnly)}`);
  }
  const propagation = propagationOf(v, `${at}.propagation`);
  // hull's own rule (Nomad only enforces it through an ACL, so with ACLs off a read-only
  // bidirectional mount goes through there): a task that may not write to a volume must not be
  // able to mount onto it and have those mounts appear on the host either
  if (v.propagation === 'bidirectional' && v.readOnly) {
    throw configError(`${at}.propagation`, 'bidirectional mounts must be read-write (readOnly is true)');
  }
  return { destination, type: 'bind', source, options: ['rbind', v.readOnly ? 'ro' : 'rw', propagation] };
}

/**
 * Task volumes → OCI mounts, in order. Every volume is checked before any is converted, and two
 * volumes on the same destination are refused (the second would hide the first).
 */
export function volumesToMounts(vs: readonly TaskVolume[]): Mount[] {
  if (!Array.isArray(vs)) throw configError('mounts', `must be an array, got ${show(vs)}`);
  const mounts = vs.map((v, i) => volumeToMount(v, i));
  const seen = new Map<string, number>();
  mounts.forEach((m, i) => {
    const key = path.posix.normalize(m.destination).replace(/\/+$/, '');
    const first = seen.get(key);
    if (first !== undefined) throw configError(`mounts[${i}].destination`, `duplicate destination ${show(m.destination)}, already used by mounts[${first}]`);
    seen.set(key, i);
  });
  return mounts;
}
