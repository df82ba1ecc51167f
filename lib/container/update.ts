/** `update` (runc's): new cgroup limits for a running container. */
import { type LinuxResources, validateResources } from '../cgroup';
import { HullError } from '../errors';
import type { Runtime } from './runtime';
import { readRecord } from './start';
import { currentStatus } from './state';

/**
 * Validates `resources` first (nothing is written when a value is bad), then applies them to the container's
 * cgroups. Only fields present are changed. A stopped container is an error.
 */
export function update(rt: Runtime, id: string, resources: LinuxResources): void {
  validateResources(resources);
  const rec = readRecord(rt, id);
  const status = currentStatus(rt, rec);
  if (status === 'stopped' || status === 'creating') {
    throw new HullError(`cannot update container \`${id}\`: it is ${status}, not running`, { code: 'ESTATE' });
  }
  rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths).apply(resources);
}

const RAM_RE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const RAM_MULT: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * A size as runc's `update` takes it (docker's units.RAMInBytes): bytes, or with a binary suffix `k`, `m`, `g`,
 * `t`, `p` (any case, optionally `b`/`ib`: `64m`, `1.5G`, `512KiB`); `-1` means unlimited.
 */
export function parseMemory(text: string, flag: string): number {
  if (text.trim() === '-1') return -1;
  const m = RAM_RE.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(n)) {
    throw new HullError(`${flag}: invalid size \`${text}\` (bytes, or with a k, m, g suffix: 64m)`, { code: 'EINVALIDARG', field: flag });
  }
  return Math.trunc(n * (m[2] ? (RAM_MULT[m[2].toLowerCase()] as number) : 1));
}

function parseInteger(text: string, flag: string, unsigned: boolean): number {
  const re = unsigned ? /^\d+$/ : /^-?\d+$/;
  const n = Number(text.trim());
  if (!re.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new HullError(`${flag}: expected ${unsigned ? 'a non-negative' : 'an'} integer, got \`${text}\``, { code: 'EINVALIDARG', field: flag });
  }
  return n;
}

/** The flags of `hull update` (runc's), by name without the dashes. */
export interface UpdateFlags {
  memory?: string;
  'memory-reservation'?: string;
  'memory-swap'?: string;
  'cpu-shares'?: string;
  'cpu-quota'?: string;
  'cpu-period'?: string;
  'cpuset-cpus'?: string;
  'cpuset-mems'?: string;
  'pids-limit'?: string;
}

export const UPDATE_FLAG_NAMES: (keyof UpdateFlags)[] = [
  'memory',
  'memory-reservation',
  'memory-swap',
  'cpu-shares',
  'cpu-quota',
  'cpu-period',
  'cpuset-cpus',
  'cpuset-mems',
  'pids-limit',
];

/** Parses `--resources` JSON (an OCI LinuxResources object); `source` names it in errors. */
export function parseResourcesJson(text: string, source: string): LinuxResources {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HullError(`--resources: ${source} is not JSON: ${(e as Error).message}`, { code: 'EINVALIDARG', field: '--resources' });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HullError(`--resources: ${source} must hold a JSON object (OCI linux.resources)`, { code: 'EINVALIDARG', field: '--resources' });
  }
  return v as LinuxResources;
}

/** `base` (from --resources) with the flags laid over it, as runc does: a flag given wins over the JSON. */
export function resourcesFromFlags(flags: UpdateFlags, base: LinuxResources = {}): LinuxResources {
  const r: LinuxResources = { ...base };
  const mem = (): NonNullable<LinuxResources['memory']> => (r.memory = { ...r.memory });
  const cpu = (): NonNullable<LinuxResources['cpu']> => (r.cpu = { ...r.cpu });
  if (flags.memory !== undefined) mem().limit = parseMemory(flags.memory, '--memory');
  if (flags['memory-reservation'] !== undefined) mem().reservation = parseMemory(flags['memory-reservation'], '--memory-reservation');
  if (flags['memory-swap'] !== undefined) mem().swap = parseMemory(flags['memory-swap'], '--memory-swap');
  if (flags['cpu-shares'] !== undefined) cpu().shares = parseInteger(flags['cpu-shares'], '--cpu-shares', true);
  if (flags['cpu-quota'] !== undefined) cpu().quota = parseInteger(flags['cpu-quota'], '--cpu-quota', false);
  if (flags['cpu-period'] !== undefined) cpu().period = parseInteger(flags['cpu-period'], '--cpu-period', true);
  if (flags['cpuset-cpus'] !== undefined) cpu().cpus = flags['cpuset-cpus'];
  if (flags['cpuset-mems'] !== undefined) cpu().mems = flags['cpuset-mems'];
  if (flags['pids-limit'] !== undefined) r.pids = { ...r.pids, limit: parseInteger(flags['pids-limit'], '--pids-limit', false) };
  return r;
}
