/**
 * Turns a validated OCI config into the plan the native core executes after clone. Pure: every
 * decision about flags, devices and capability masks is made here, where it can be tested
 * without root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from '../errors';
import type { NativeCaps, NativeDevice, NativeMount, NativePlan } from '../native';
import { CAPABILITIES, RLIMITS } from '../oci/capabilities';
import type { LinuxCapabilities, Mount, Spec } from '../oci/schema';
import { CLONE, MS, NAMESPACE_FLAGS, S_IFBLK, S_IFCHR, S_IFIFO } from './constants';
import { parseMountOptions, propagationFlags } from './mount-options';

export interface PlanContext {
  /** absolute bundle directory: relative bind sources are relative to it */
  bundle: string;
  /** absolute, resolved rootfs */
  rootfs: string;
  fifoPath?: string;
  /** cgroup.procs files the init writes itself into before anything else */
  cgroupProcs: string[];
  /** hierarchy name (cpu, memory, systemd, unified, ...) → the container's cgroup directory */
  cgroupDirs: Record<string, string>;
  cgroupV2: boolean;
  stdio?: [number, number, number];
  preserveFds?: number;
  consoleSocket?: string;
  /** /proc/sys/kernel/cap_last_cap */
  capLast: number;
}

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const DEFAULT_DEVICE_MODE = 0o666;

/** runc's default devices: always present, whatever linux.devices says. */
const DEFAULT_DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

const DEV_SYMLINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];

function namespacePlan(spec: Spec): Pick<NativePlan, 'cloneFlags' | 'joins'> {
  let cloneFlags = 0;
  const joins: NativePlan['joins'] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    const flag = NAMESPACE_FLAGS[ns.type] ?? 0;
    if (ns.path) joins.push({ path: ns.path, nstype: flag });
    else cloneFlags |= flag;
  }
  return { cloneFlags, joins };
}

function mountSource(m: Mount, bundle: string): string | undefined {
  if (m.source === undefined) return undefined;
  return path.isAbsolute(m.source) ? m.source : path.resolve(bundle, m.source);
}

function isFile(source: string | undefined): boolean {
  if (!source) return false;
  try {
    return !fs.statSync(source).isDirectory();
  } catch {
    return false; // a missing source fails in mount(2) with a message that names it
  }
}

/**
 * A `cgroup` mount shows the container its own cgroups. On cgroup v2 that is a cgroup2 mount
 * (the cgroup namespace makes it start at the container's cgroup). On v1 and hybrid hosts it is
 * a tmpfs with a read-only bind of the container's directory in each hierarchy, as runc does
 * without a cgroup namespace.
 */
function cgroupMounts(m: Mount, index: number, ctx: PlanContext): NativeMount[] {
  const opts = parseMountOptions(m.options ?? [], `mounts[${index}].options`);
  if (ctx.cgroupV2) {
    return [{ source: 'cgroup2', destination: m.destination, fstype: 'cgroup2', flags: opts.flags, propagation: 0, file: false }];
  }
  const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const out: NativeMount[] = [
    { source: 'tmpfs', destination: m.destination, fstype: 'tmpfs', data: 'mode=755', flags: base, propagation: 0, file: false },
  ];
  for (const [name, dir] of Object.entries(ctx.cgroupDirs)) {
    out.push({
      source: dir,
      destination: path.posix.join(m.destination, name),
      flags: MS.BIND | MS.REC | base | (opts.flags & MS.RDONLY),
      propagation: 0,
      file: false,
    });
  }
  if (opts.flags & MS.RDONLY) {
    out.push({ destination: m.destination, flags: MS.REMOUNT | MS.BIND | MS.RDONLY | base, propagation: 0, file: false });
  }
  return out;
}

function mountPlan(spec: Spec, ctx: PlanContext): NativeMount[] {
  const out: NativeMount[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (m.type === 'cgroup') {
      out.push(...cgroupMounts(m, i, ctx));
      return;
    }
    const opts = parseMountOptions(m.options ?? [], `mounts[${i}].options`);
    const bind = opts.bind || m.type === 'bind';
    const source = bind ? mountSource(m, ctx.bundle) : m.source;
    const flags = bind ? opts.flags | MS.BIND : opts.flags;
    const entry: NativeMount = { destination: m.destination, flags, propagation: opts.propagation, file: bind && isFile(source) };
    if (source !== undefined) entry.source = source;
    if (!bind && m.type) entry.fstype = m.type;
    if (opts.data.length) entry.data = opts.data.join(',');
    out.push(entry);
  });
  return out;
}

function devicePlan(spec: Spec): NativeDevice[] {
  const bindsDev = (spec.mounts ?? []).some((m) => m.destination === '/dev' && (m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind')));
  if (bindsDev) return [];
  const out = new Map<string, NativeDevice>();
  for (const [p, major, minor] of DEFAULT_DEVICES) {
    out.set(p, { path: p, type: S_IFCHR, major, minor, mode: DEFAULT_DEVICE_MODE, uid: 0, gid: 0 });
  }
  for (const d of spec.linux?.devices ?? []) {
    const type = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
    out.set(d.path, {
      path: d.path,
      type,
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      mode: (d.fileMode ?? DEFAULT_DEVICE_MODE) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    });
  }
  return [...out.values()];
}

/**
 * The five capability sets as masks. The kernel raises an ambient capability only if it is both
 * permitted and inheritable; like runc, hull skips the others with a warning rather than fail,
 * since `runc spec` itself writes ambient capabilities without inheritable ones.
 */
export function capsPlan(c: LinuxCapabilities = {}): NativeCaps {
  const permitted = capMask(c.permitted);
  const inheritable = capMask(c.inheritable);
  const asked = capMask(c.ambient);
  const ambient = asked & permitted & inheritable;
  if (ambient !== asked) {
    const skipped = (c.ambient ?? []).filter((name) => !(ambient & capMask([name])));
    process.emitWarning(`ambient capabilities not raised, as they are not both permitted and inheritable: ${skipped.join(', ')}`, { code: 'HULL_AMBIENT' });
  }
  return { bounding: capMask(c.bounding), effective: capMask(c.effective), permitted, inheritable, ambient };
}

/** The filesystem part of a plan for a process that keeps the filesystem it finds (exec, the universal executor). */
export function noRootfs(): Pick<NativePlan, 'rootfsReadonly' | 'rootfsPropagation' | 'noPivot' | 'mounts' | 'devices' | 'symlinks' | 'maskedPaths' | 'readonlyPaths' | 'sysctl'> {
  return { rootfsReadonly: false, rootfsPropagation: 0, noPivot: false, mounts: [], devices: [], symlinks: [], maskedPaths: [], readonlyPaths: [], sysctl: [] };
}

/** Capability names → a bit mask; names were checked by validateSpec. */
export function capMask(names: readonly string[] | undefined): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = CAPABILITIES[name];
    if (n !== undefined) mask |= 1n << BigInt(n);
  }
  return mask;
}

function rlimitValue(v: number): bigint {
  // JSON numbers are doubles: 2^64-1 (RLIM_INFINITY) arrives as 2^64
  return v >= 2 ** 64 - 1 ? RLIM_INFINITY : BigInt(v);
}

export function rlimitPlan(rlimits: readonly { type: string; soft: number; hard: number }[] | undefined): NativePlan['rlimits'] {
  return (rlimits ?? []).map((r) => ({ resource: RLIMITS[r.type] ?? -1, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) }));
}

function processPlan(spec: Spec) {
  const proc = spec.process;
  if (!proc) throw new HullError('invalid config: process: a process is required to create a container', { code: 'EINVALIDCONFIG', field: 'process' });
  return {
    args: proc.args ?? [],
    env: proc.env ?? [],
    cwd: proc.cwd,
    uid: proc.user.uid,
    gid: proc.user.gid,
    additionalGids: proc.user.additionalGids ?? [],
    ...(proc.user.umask !== undefined ? { umask: proc.user.umask } : {}),
    ...(proc.oomScoreAdj !== undefined ? { oomScoreAdj: proc.oomScoreAdj } : {}),
    noNewPrivileges: proc.noNewPrivileges ?? false,
    rlimits: rlimitPlan(proc.rlimits),
    caps: capsPlan(proc.capabilities),
  };
}

function refuseUnsupported(spec: Spec): void {
  const hooks = spec.hooks ?? {};
  for (const [kind, list] of Object.entries(hooks)) {
    if (Array.isArray(list) && list.length) {
      throw new HullError(`invalid config: hooks.${kind}: hooks are not supported by hull yet`, { code: 'EUNSUPPORTED', field: `hooks.${kind}` });
    }
  }
}

export function buildPlan(spec: Spec, ctx: PlanContext): NativePlan {
  refuseUnsupported(spec);
  const linux = spec.linux ?? {};
  const ns = namespacePlan(spec);
  if (!(ns.cloneFlags & CLONE.NEWNS) && !ns.joins.some((j) => j.nstype === CLONE.NEWNS)) {
    throw new HullError('invalid config: linux.namespaces: hull needs a mount namespace to set up the rootfs', { code: 'EINVALIDCONFIG', field: 'linux.namespaces' });
  }
  const plan: NativePlan = {
    ...ns,
    cgroupProcs: ctx.cgroupProcs,
    rootfs: ctx.rootfs,
    rootfsReadonly: spec.root?.readonly ?? false,
    rootfsPropagation: linux.rootfsPropagation ? (propagationFlags(linux.rootfsPropagation) ?? 0) : 0,
    noPivot: false,
    mounts: mountPlan(spec, ctx),
    devices: devicePlan(spec),
    symlinks: DEV_SYMLINKS.map(([target, p]) => ({ target, path: p })),
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    sysctl: Object.entries(linux.sysctl ?? {}).map(([k, v]) => ({ key: `/proc/sys/${k.replace(/\./g, '/')}`, value: v })),
    ...processPlan(spec),
    capLast: ctx.capLast,
    stdio: ctx.stdio ?? [-1, -1, -1],
    preserveFds: ctx.preserveFds ?? 0,
  };
  if (spec.hostname !== undefined) plan.hostname = spec.hostname;
  if (spec.domainname !== undefined) plan.domainname = spec.domainname;
  if (ctx.fifoPath !== undefined) plan.fifoPath = ctx.fifoPath;
  if (ctx.consoleSocket !== undefined) plan.consoleSocket = ctx.consoleSocket;
  return plan;
}

let capLastCache: number | undefined;

/** The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function kernelCapLast(): number {
  capLastCache ??= Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  return capLastCache;
}
