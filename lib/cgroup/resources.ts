import { configError } from '../errors';
import { parseCpuList } from './stats';

/*
 * `linux.resources` of the OCI runtime spec (config-linux.md), as plain optional fields so that the TypeBox
 * schema in lib/oci/ is assignable to it. Conventions kept from runc: an absent field or 0 leaves the kernel
 * value alone, -1 means unlimited (memory, swap, quota).
 */

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** `a` (all), `c` (char) or `b` (block); default `a` */
  type?: string;
  /** absent, null or -1: any */
  major?: number | null;
  minor?: number | null;
  /** any of `r`, `w`, `m`; default `rwm` */
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  /** memory + swap, as on cgroup v1 */
  swap?: number;
  /** deprecated by the spec and by Linux 5.4+; ignored with a warning */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  /** refuse a new limit below current usage instead of letting the kernel reclaim or OOM */
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  /** ≤ 0 means unlimited (runtime-spec; runc since opencontainers/runc#4023) */
  limit?: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** `2MB`, `1GB`, `64KB` */
  pageSize: string;
  limit: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  /** not applied: net_cls/net_prio are v1-only and superseded by eBPF; a warning says so */
  network?: LinuxNetwork;
  /** not applied; a warning says so */
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup v2 file name → value, written as is (v2 and the unified half of hybrid hosts) */
  unified?: Record<string, string>;
}

const F = 'linux.resources';

/** Kernel bounds for CFS bandwidth (kernel/sched/core.c: min_cfs_quota_period 1 ms, max_cfs_quota_period 1 s). */
const MIN_CFS_US = 1000;
const MAX_CFS_PERIOD_US = 1_000_000;
/** kernel/sched: scale_load of cpu.shares is clamped to [MIN_SHARES, MAX_SHARES] */
export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;

/**
 * Checks the numbers and strings of `linux.resources` before any cgroup exists. Only what is knowable without
 * the kernel: a memory limit the kernel cannot meet (below current usage) is refused by the write itself.
 */
export function validateResources(r: LinuxResources): void {
  if (r.memory) validateMemory(r.memory);
  if (r.cpu) validateCpu(r.cpu);
  if (r.pids?.limit !== undefined) integer(r.pids.limit, `${F}.pids.limit`);
  r.devices?.forEach((d, i) => validateDevice(d, `${F}.devices[${i}]`));
  if (r.blockIO) validateBlockIO(r.blockIO);
  r.hugepageLimits?.forEach((h, i) => validateHugepage(h, `${F}.hugepageLimits[${i}]`));
  if (r.unified) validateUnified(r.unified);
}

function validateMemory(m: LinuxMemory): void {
  for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const) {
    atLeast(m[k], -1, `${F}.memory.${k}`);
  }
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  if (swap > 0 && limit > 0 && swap < limit) {
    throw configError(`${F}.memory.swap`, `${swap} is below memory.limit ${limit}; swap is the memory+swap total`);
  }
  if (swap > 0 && limit <= 0) {
    throw configError(`${F}.memory.swap`, 'a swap limit needs a memory limit');
  }
  if (m.swappiness !== undefined) range(m.swappiness, 0, 100, `${F}.memory.swappiness`);
}

function validateCpu(c: LinuxCPU): void {
  // shares 0 means "not set" (runc); anything else the kernel would silently clamp
  if (c.shares !== undefined && c.shares !== 0) range(c.shares, MIN_SHARES, MAX_SHARES, `${F}.cpu.shares`);
  if (c.quota !== undefined && c.quota !== 0 && c.quota !== -1) atLeast(c.quota, MIN_CFS_US, `${F}.cpu.quota`);
  if (c.period !== undefined && c.period !== 0) range(c.period, MIN_CFS_US, MAX_CFS_PERIOD_US, `${F}.cpu.period`);
  atLeast(c.burst, 0, `${F}.cpu.burst`);
  atLeast(c.realtimeRuntime, -1, `${F}.cpu.realtimeRuntime`);
  atLeast(c.realtimePeriod, 0, `${F}.cpu.realtimePeriod`);
  if (c.idle !== undefined) range(c.idle, 0, 1, `${F}.cpu.idle`);
  if (c.cpus) cpuList(c.cpus, `${F}.cpu.cpus`);
  if (c.mems) cpuList(c.mems, `${F}.cpu.mems`);
}

function validateDevice(d: LinuxDeviceCgroup, field: string): void {
  if (typeof d.allow !== 'boolean') throw configError(`${field}.allow`, 'must be a boolean');
  if (d.type !== undefined && !['a', 'b', 'c'].includes(d.type)) {
    throw configError(`${field}.type`, `\`${d.type}\` must be one of a, b, c`);
  }
  if (d.major != null) atLeast(d.major, -1, `${field}.major`);
  if (d.minor != null) atLeast(d.minor, -1, `${field}.minor`);
  if (d.access !== undefined && !/^[rwm]{0,3}$/.test(d.access)) {
    throw configError(`${field}.access`, `\`${d.access}\` must be made of r, w, m`);
  }
}

function validateBlockIO(b: LinuxBlockIO): void {
  // blkio.weight: CFQ_WEIGHT_MIN..CFQ_WEIGHT_MAX; 0 = not set
  if (b.weight) range(b.weight, 10, 1000, `${F}.blockIO.weight`);
  if (b.leafWeight) range(b.leafWeight, 10, 1000, `${F}.blockIO.leafWeight`);
  b.weightDevice?.forEach((d, i) => {
    deviceNumbers(d, `${F}.blockIO.weightDevice[${i}]`);
    if (d.weight) range(d.weight, 10, 1000, `${F}.blockIO.weightDevice[${i}].weight`);
  });
  for (const k of THROTTLE_KEYS) {
    b[k]?.forEach((d, i) => {
      deviceNumbers(d, `${F}.blockIO.${k}[${i}]`);
      atLeast(d.rate, 0, `${F}.blockIO.${k}[${i}].rate`);
    });
  }
}

export const THROTTLE_KEYS = [
  'throttleReadBpsDevice',
  'throttleWriteBpsDevice',
  'throttleReadIOPSDevice',
  'throttleWriteIOPSDevice',
] as const;

function deviceNumbers(d: { major: number; minor: number }, field: string): void {
  atLeast(d.major, 0, `${field}.major`);
  atLeast(d.minor, 0, `${field}.minor`);
}

function validateHugepage(h: LinuxHugepageLimit, field: string): void {
  if (typeof h.pageSize !== 'string' || !/^\d+[KMG]B$/.test(h.pageSize)) {
    throw configError(`${field}.pageSize`, `\`${h.pageSize}\` must look like 2MB or 1GB`);
  }
  atLeast(h.limit, -1, `${field}.limit`);
}

function validateUnified(u: Record<string, string>): void {
  for (const [k, v] of Object.entries(u)) {
    // a key is one file in the container's own directory: `memory.high`, never a path
    if (!/^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(k)) {
      throw configError(`${F}.unified`, `\`${k}\` is not a cgroup v2 file name`);
    }
    if (k.startsWith('cgroup.')) throw configError(`${F}.unified.${k}`, 'core cgroup files are managed by hull');
    if (typeof v !== 'string') throw configError(`${F}.unified.${k}`, 'must be a string');
  }
}

function integer(v: unknown, field: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw configError(field, `\`${String(v)}\` must be an integer`);
}

function atLeast(v: number | undefined, min: number, field: string): void {
  if (v === undefined) return;
  integer(v, field);
  if (v < min) throw configError(field, `${v} must be ${min} or more`);
}

function range(v: number, min: number, max: number, field: string): void {
  integer(v, field);
  if (v < min || v > max) throw configError(field, `${v} must be between ${min} and ${max}`);
}

function cpuList(s: string, field: string): void {
  try {
    parseCpuList(s);
  } catch {
    throw configError(field, `\`${s}\` is not a cpu list like 0-3,7`);
  }
}
