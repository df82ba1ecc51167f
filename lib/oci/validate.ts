/**
 * Validation of an OCI runtime-spec config: the TypeBox schema first (types, required fields,
 * enums), then the rules the schema cannot express (paths, kernel names, cross-field and cgroup
 * rules, what hull does not support yet). The first problem found is thrown as a HullError whose
 * `field` is the JSON path of the offending value, e.g. `mounts[2].destination`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TypeCheck, ValueError } from '@sinclair/typebox/compiler';
import { HullError, configError, fromNodeError } from '../errors';
import { CAPABILITIES, RLIMITS } from './capabilities';
import type { LinuxResources, Mount, Process, Spec, SpecSchema } from './schema';

// ---------------------------------------------------------------------------------------------
// schema check
// ---------------------------------------------------------------------------------------------

// Loaded and compiled on first use, not on import: TypeBox is some 200 modules (about 100 ms on
// a small VM) and compiling takes some 20 ms more, which `hull` commands that read no config
// must not pay at start-up.
let checker: TypeCheck<typeof SpecSchema> | undefined;

let fastCheck: ((value: unknown) => boolean) | undefined;

/**
 * The check built into dist/oci/spec-check.js by scripts/gen-spec-check.js; from lib/ (ts-jest),
 * where there is none, the TypeBox compiler's check.
 */
function specCheck(): (value: unknown) => boolean {
  if (fastCheck) return fastCheck;
  try {
    fastCheck = require('./spec-check') as (value: unknown) => boolean;
  } catch {
    const check = compiledSchema();
    fastCheck = (v) => check.Check(v);
  }
  return fastCheck;
}

function compiledSchema(): TypeCheck<typeof SpecSchema> {
  if (checker) return checker;
  const { SpecSchema } = require('./schema') as typeof import('./schema');
  const { TypeCompiler } = require('@sinclair/typebox/compiler') as typeof import('@sinclair/typebox/compiler');
  checker = TypeCompiler.Compile(SpecSchema);
  return checker;
}

/** Turns a JSON pointer (`/mounts/2/destination`) into a field path (`mounts[2].destination`). */
export function fieldPath(pointer: string, root: unknown): string {
  let out = '';
  let node: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += pathSegment(key, Array.isArray(node), out === '');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

function pathSegment(key: string, inArray: boolean, first: boolean): string {
  if (inArray) return `[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return first ? key : `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

/** A short rendering of a bad value for messages. */
function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value !== 'string') return String(value);
  const quoted = JSON.stringify(value);
  return quoted.length > 60 ? `${quoted.slice(0, 56)}..."` : quoted;
}

const INTEGER_RANGES: Record<string, string> = { int64: '-2^63 to 2^63-1', uint64: '0 to 2^64-1' };
const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'an object',
};

function integerWhy(schema: Record<string, unknown>, value: unknown): string {
  const kind = typeof schema['ociType'] === 'string' && schema['ociType'] !== 'int' ? schema['ociType'] : 'integer';
  const range = INTEGER_RANGES[kind] ?? `${schema['minimum']} to ${schema['maximum']}`;
  return `must be ${kind.startsWith('i') ? 'an' : 'a'} ${kind} (${range}), got ${show(value)}`;
}

/** A human reason for a schema error: the expected type or the allowed values, and what was given. */
function schemaWhy(error: ValueError): string {
  const schema = error.schema as Record<string, unknown>;
  if (error.value === undefined) return 'is required';
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf) && anyOf.every((s) => 'const' in s)) {
    return `must be one of ${anyOf.map((s) => String(s.const)).join(', ')}, got ${show(error.value)}`;
  }
  if (schema['type'] === 'integer') return integerWhy(schema, error.value);
  const typeName = TYPE_NAMES[String(schema['type'])];
  if (typeName) return `must be ${typeName}, got ${show(error.value)}`;
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

function schemaError(value: unknown, error: ValueError): HullError {
  const field = fieldPath(error.path, value);
  if (field === '') {
    return new HullError(`invalid config: must be a json object, got ${show(value)}`, { code: 'EINVALIDCONFIG', field });
  }
  return configError(field, schemaWhy(error));
}

// ---------------------------------------------------------------------------------------------
// semantic rules
// ---------------------------------------------------------------------------------------------

function unsupported(field: string, why: string): HullError {
  return new HullError(`unsupported config: ${field}: ${why}`, { code: 'EUNSUPPORTED', field });
}

function requireAbsolute(field: string, p: string): void {
  if (!p.startsWith('/')) throw configError(field, `must be an absolute path, got ${show(p)}`);
}

function checkVersion(spec: Spec): void {
  // 1.0.x to 1.2.x are the versions whose fields this schema knows; pre-releases like 1.0.2-dev
  // (what podman writes) and build metadata are fine.
  if (!/^1\.[012]\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.test(spec.ociVersion)) {
    throw configError('ociVersion', `must be a runtime-spec version 1.0.x, 1.1.x or 1.2.x, got ${show(spec.ociVersion)}`);
  }
}

function checkProcess(spec: Spec): void {
  const proc = spec.process;
  // The spec makes process optional (a config may describe only a filesystem), but hull's create
  // sets up the container around its init process and has nothing to run without one.
  if (!proc) throw configError('process', 'is required: hull cannot create a container without a process to run');
  if (!proc.args || proc.args.length === 0) {
    throw configError('process.args', 'must have at least one entry, the program to run');
  }
  requireAbsolute('process.cwd', proc.cwd);
  proc.env?.forEach((entry, i) => {
    if (!/^[^=]+=/.test(entry)) throw configError(`process.env[${i}]`, `must be of the form KEY=VALUE, got ${show(entry)}`);
  });
  if (proc.oomScoreAdj !== undefined && (proc.oomScoreAdj < -1000 || proc.oomScoreAdj > 1000)) {
    throw configError('process.oomScoreAdj', `must be between -1000 and 1000, got ${proc.oomScoreAdj}`);
  }
  checkRlimits(proc);
  checkCapabilities(proc);
}

function checkRlimits(proc: Process): void {
  const seen = new Map<string, number>();
  proc.rlimits?.forEach((rlimit, i) => {
    const field = `process.rlimits[${i}]`;
    if (!Object.hasOwn(RLIMITS, rlimit.type)) {
      throw configError(`${field}.type`, `must be a linux resource limit name like RLIMIT_NOFILE, got ${show(rlimit.type)}`);
    }
    const first = seen.get(rlimit.type);
    if (first !== undefined) {
      throw configError(`${field}.type`, `duplicate ${rlimit.type}, already set at process.rlimits[${first}]`);
    }
    seen.set(rlimit.type, i);
    if (rlimit.soft > rlimit.hard) {
      throw configError(`${field}.soft`, `must not exceed hard (${rlimit.soft} > ${rlimit.hard})`);
    }
  });
}

function checkCapabilities(proc: Process): void {
  for (const [set, names] of Object.entries(proc.capabilities ?? {})) {
    (names as string[] | undefined)?.forEach((name, i) => {
      if (!Object.hasOwn(CAPABILITIES, name)) {
        throw configError(`process.capabilities.${set}[${i}]`, `unknown capability ${show(name)}`);
      }
    });
  }
}

function checkRoot(spec: Spec): void {
  if (spec.root.path === '') throw configError('root.path', 'must not be empty');
}

/**
 * Mount options that are mount flags or propagation changes rather than filesystem data. Any
 * other option (`mode=755`, `newinstance`) is passed to the filesystem as data.
 */
export const MOUNT_FLAG_OPTIONS: ReadonlySet<string> = new Set([
  'defaults', 'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async',
  'dirsync', 'remount', 'mand', 'nomand', 'atime', 'noatime', 'diratime', 'nodiratime', 'bind',
  'rbind', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'private', 'rprivate',
  'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable', 'tmpcopyup', 'idmap',
  'ridmap', 'lazytime', 'nolazytime', 'silent', 'loud', 'iversion', 'noiversion', 'symfollow',
  'nosymfollow',
  // recursive (mount_setattr) variants, runtime-spec 1.1.0
  'rro', 'rrw', 'rsuid', 'rnosuid', 'rdev', 'rnodev', 'rexec', 'rnoexec', 'ratime', 'rnoatime',
  'rdiratime', 'rnodiratime', 'rrelatime', 'rnorelatime', 'rstrictatime', 'rnostrictatime',
  'rsymfollow', 'rnosymfollow',
]);

function checkMountOption(field: string, option: string): void {
  // Data options are joined with commas into mount(2)'s data string, so an empty option or one
  // holding a comma or NUL would silently turn into different options.
  if (option === '') throw configError(field, 'must not be empty');
  if (/[,\0]/.test(option)) throw configError(field, `must be a single option without commas, got ${show(option)}`);
  // Anything else that is not a flag is filesystem data; key=value data needs its key.
  if (option.startsWith('=')) throw configError(field, `must be a mount option or key=value, got ${show(option)}`);
}

function checkMount(mount: Mount, i: number): void {
  requireAbsolute(`mounts[${i}].destination`, mount.destination);
  mount.options?.forEach((option, j) => checkMountOption(`mounts[${i}].options[${j}]`, option));
}

function checkNamespaces(spec: Spec): void {
  const seen = new Map<string, number>();
  spec.linux?.namespaces?.forEach((ns, i) => {
    const field = `linux.namespaces[${i}]`;
    const first = seen.get(ns.type);
    if (first !== undefined) throw configError(`${field}.type`, `duplicate ${ns.type} namespace, already at linux.namespaces[${first}]`);
    seen.set(ns.type, i);
    if (ns.type === 'user') throw unsupported(`${field}.type`, 'user namespaces are not supported yet');
    if (ns.type === 'time') throw unsupported(`${field}.type`, 'time namespaces are not supported yet');
    if (ns.path === undefined) return;
    requireAbsolute(`${field}.path`, ns.path);
    // Joining a pid namespace needs a setns before the fork of init, which hull does not do yet.
    if (ns.type === 'pid') throw unsupported(`${field}.path`, 'joining an existing pid namespace is not supported yet');
  });
}

function checkHostname(spec: Spec): void {
  // As runc: without a private uts namespace, sethostname would rename the host.
  const hasUts = spec.linux?.namespaces?.some((ns) => ns.type === 'uts') ?? false;
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !hasUts) throw configError(field, `cannot be set without a private uts namespace`);
  }
}

function checkLinuxPaths(spec: Spec): void {
  const linux = spec.linux;
  linux?.maskedPaths?.forEach((p, i) => requireAbsolute(`linux.maskedPaths[${i}]`, p));
  linux?.readonlyPaths?.forEach((p, i) => requireAbsolute(`linux.readonlyPaths[${i}]`, p));
  linux?.devices?.forEach((dev, i) => {
    const field = `linux.devices[${i}]`;
    if (!path.posix.normalize(dev.path).startsWith('/dev/')) {
      throw configError(`${field}.path`, `must be an absolute path under /dev, got ${show(dev.path)}`);
    }
    // The spec requires major and minor for everything but a FIFO: mknod needs them.
    if (dev.type === 'p') return;
    if (dev.major === undefined) throw configError(`${field}.major`, `is required for a "${dev.type}" device`);
    if (dev.minor === undefined) throw configError(`${field}.minor`, `is required for a "${dev.type}" device`);
  });
  for (const key of Object.keys(linux?.sysctl ?? {})) {
    if (key.trim() === '') throw configError('linux.sysctl', 'keys must not be empty');
  }
}

// ---------------------------------------------------------------------------------------------
// resources
// ---------------------------------------------------------------------------------------------

/**
 * The smallest memory limit accepted. runc sets no minimum, but a limit of a few pages kills the
 * container's init before it can exec; crun and docker refuse limits under 6 MiB, and so does hull.
 */
export const MIN_MEMORY_LIMIT = 6 * 1024 * 1024;

function checkRange(field: string, value: number | undefined, ok: (v: number) => boolean, why: string): void {
  if (value !== undefined && !ok(value)) throw configError(field, `${why}, got ${value}`);
}

function checkMemory(res: LinuxResources): void {
  const mem = res.memory;
  if (!mem) return;
  const f = 'linux.resources.memory';
  checkRange(`${f}.limit`, mem.limit, (v) => v === -1 || v >= MIN_MEMORY_LIMIT, `must be -1 (unlimited) or at least ${MIN_MEMORY_LIMIT} (6 MiB)`);
  checkRange(`${f}.reservation`, mem.reservation, (v) => v >= -1, 'must be -1 (unlimited) or >= 0');
  // swap is the limit of memory+swap, so it cannot be below the memory limit.
  const limit = mem.limit !== undefined && mem.limit !== -1 ? mem.limit : 0;
  checkRange(`${f}.swap`, mem.swap, (v) => v === -1 || v >= limit, `must be -1 (unlimited) or >= the memory limit (${limit})`);
}

const CPU_LIST = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/;

function checkCpuList(field: string, list: string | undefined): void {
  if (list === undefined) return;
  const ranges = CPU_LIST.test(list) ? list.split(',').map((r) => r.split('-').map(Number)) : undefined;
  if (!ranges || ranges.some(([lo, hi]) => hi !== undefined && hi < (lo ?? 0))) {
    throw configError(field, `must be a cpu list like "0-2,4", got ${show(list)}`);
  }
}

function checkCpu(res: LinuxResources): void {
  const cpu = res.cpu;
  if (!cpu) return;
  const f = 'linux.resources.cpu';
  // cgroup v1 cpu.shares bounds; v2 weights are converted from shares within the same range.
  checkRange(`${f}.shares`, cpu.shares, (v) => v >= 2 && v <= 262144, 'must be between 2 and 262144');
  checkRange(`${f}.quota`, cpu.quota, (v) => v > 0 || v === -1, 'must be -1 (unlimited) or > 0');
  // The kernel's cfs_period_us bounds: 1ms to 1s.
  checkRange(`${f}.period`, cpu.period, (v) => v >= 1000 && v <= 1000000, 'must be between 1000 and 1000000 (microseconds)');
  checkCpuList(`${f}.cpus`, cpu.cpus);
  checkCpuList(`${f}.mems`, cpu.mems);
}

function checkResources(spec: Spec): void {
  const res = spec.linux?.resources;
  if (!res) return;
  res.devices?.forEach((rule, i) => {
    if (rule.access !== undefined && !/^[rwm]+$/.test(rule.access)) {
      throw configError(`linux.resources.devices[${i}].access`, `must be made of the letters r, w and m, got ${show(rule.access)}`);
    }
  });
  checkMemory(res);
  checkCpu(res);
  // -1 is unlimited; older runc also read 0 as unlimited, so 0 is kept as "max".
  checkRange('linux.resources.pids.limit', res.pids?.limit, (v) => v >= -1, 'must be -1 or 0 (unlimited) or > 0');
  res.hugepageLimits?.forEach((h, i) => {
    if (!/^\d+[KMGTPE]?B$/.test(h.pageSize)) {
      throw configError(`linux.resources.hugepageLimits[${i}].pageSize`, `must be a size like "2MB" or "1GB", got ${show(h.pageSize)}`);
    }
  });
  for (const key of Object.keys(res.unified ?? {})) {
    if (!/^[a-z_]+\.[\w.-]+$/.test(key)) {
      throw configError(`linux.resources.unified[${JSON.stringify(key)}]`, 'must be keyed by a cgroup file name like "memory.high"');
    }
  }
}

const SEMANTIC_CHECKS: ReadonlyArray<(spec: Spec) => void> = [
  checkVersion,
  checkProcess,
  checkRoot,
  (spec) => spec.mounts?.forEach(checkMount),
  checkNamespaces,
  checkHostname,
  checkLinuxPaths,
  checkResources,
];

/**
 * Checks a parsed config.json against the OCI runtime-spec and hull's rules, and returns it typed.
 * Throws a HullError with code EINVALIDCONFIG (or EUNSUPPORTED) and `field` for the first problem.
 */
export function validateSpec(value: unknown): Spec {
  if (!specCheck()(value)) {
    // the slow path: TypeBox says which field is wrong
    const first = compiledSchema().Errors(value).First();
    throw first ? schemaError(value, first) : configError('', 'does not match the runtime-spec schema');
  }
  const spec = value as Spec;
  for (const rule of SEMANTIC_CHECKS) rule(spec);
  return spec;
}

// ---------------------------------------------------------------------------------------------
// bundles
// ---------------------------------------------------------------------------------------------

function realBundle(bundleDir: string): string {
  const abs = path.resolve(bundleDir);
  try {
    return fs.realpathSync(abs);
  } catch (e) {
    throw fromNodeError(e, `bundle \`${abs}\``);
  }
}

/** Where V8's JSON.parse message says the error is, as line and column, when it says. */
function jsonPosition(message: string, text: string): string {
  const match = /at position (\d+)/.exec(message);
  const pos = match ? Number(match[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (pos === undefined) return '';
  const before = text.slice(0, pos).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function readConfig(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw fromNodeError(e, `open \`${file}\``);
  }
  text = text.replace(/^\uFEFF/, ''); // a BOM from Windows editors is not JSON
  try {
    return JSON.parse(text);
  } catch (e) {
    const reason = String((e as Error).message).replace(/ in JSON at position \d+.*$/, '');
    const why = `malformed json${jsonPosition(String((e as Error).message), text)} in \`${file}\`: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`;
    throw new HullError(`invalid config: config.json: ${why}`, { code: 'EINVALIDCONFIG', field: 'config.json', path: file, cause: e });
  }
}

function resolveRootfs(bundle: string, rootPath: string): string {
  const abs = path.resolve(bundle, rootPath);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(abs, { throwIfNoEntry: false });
  } catch (e) {
    throw fromNodeError(e, `stat \`${abs}\``);
  }
  if (!stat) throw configError('root.path', `\`${abs}\` does not exist`);
  if (!stat.isDirectory()) throw configError('root.path', `\`${abs}\` is not a directory`);
  // The native layer pivots into this path: give it the real one, not a symlink.
  return fs.realpathSync(abs);
}

/**
 * Reads and validates `<bundle>/config.json`. `bundle` is the bundle's absolute real path and
 * `rootfs` the real path of `root.path`, resolved against the bundle.
 */
export function loadBundle(bundleDir: string): { bundle: string; spec: Spec; rootfs: string } {
  const bundle = realBundle(bundleDir);
  const spec = validateSpec(readConfig(path.join(bundle, 'config.json')));
  return { bundle, spec, rootfs: resolveRootfs(bundle, spec.root.path) };
}
