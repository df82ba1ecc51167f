/**
 * ExecCommand: the one list of its fields, its validation (run in the agent before anything is
 * spawned, and again in the executor), and user lookup in /etc/passwd and /etc/group.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateResources } from '../cgroup/resources';
import { HullError } from '../errors';
import { CAPABILITIES } from '../oci/capabilities';
import type { LinuxCapabilities } from '../oci/schema';
import { computeCapabilities } from '../task/capabilities';
import { volumesToMounts } from '../task/volumes';
import type { ExecCommand, ExecUserIds, Isolation } from './types';

/**
 * Every field of ExecCommand. The type makes the compiler fail when a field is added to the
 * interface and not here; both sides refuse a field that is not here, so no field can be lost on
 * the way (Nomad lost three that way).
 */
export const EXEC_COMMAND_FIELDS: Readonly<Record<keyof ExecCommand, true>> = Object.freeze({
  cmd: true,
  args: true,
  env: true,
  user: true,
  taskDir: true,
  resources: true,
  mounts: true,
  devices: true,
  capabilities: true,
  networkNamespace: true,
  pidMode: true,
  ipcMode: true,
  stdout: true,
  stderr: true,
  logRotation: true,
  tty: true,
  noNewPrivileges: true,
});

function bad(field: string, why: string, code = 'EINVALIDARG'): HullError {
  return new HullError(`invalid exec command: ${field}: ${why}`, { code, field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkString(field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw bad(field, 'must be a non-empty string');
  if (v.includes('\0')) throw bad(field, 'must not contain a NUL byte');
  return v;
}

function checkAbsolute(field: string, v: unknown): string {
  const s = checkString(field, v);
  if (!path.isAbsolute(s)) throw bad(field, `must be an absolute path, got \`${s}\``);
  return s;
}

function checkStrings(field: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw bad(field, 'must be an array of strings');
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s.includes('\0')) throw bad(`${field}[${i}]`, 'must be a string without NUL bytes');
  });
  return v as string[];
}

function checkId(field: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xfffffffe) throw bad(field, `must be an id from 0 to 4294967294, got ${String(v)}`);
  return v as number;
}

function checkMode(field: string, v: unknown): void {
  if (v !== 'private' && v !== 'host') throw bad(field, `must be "private" or "host", got ${JSON.stringify(v)}`);
}

/** `net_raw`, `NET_RAW`, `cap_net_raw` → `CAP_NET_RAW`; `all` stays `ALL`. */
export function normalizeCap(name: string): string {
  const n = name.trim().toUpperCase();
  if (n === 'ALL') return n;
  return n.startsWith('CAP_') ? n : `CAP_${n}`;
}

function checkCaps(field: string, v: unknown): void {
  if (!isObject(v)) throw bad(field, 'must be an object');
  for (const [k, list] of Object.entries(v)) {
    if (k !== 'allow' && k !== 'capAdd' && k !== 'capDrop') throw bad(`${field}.${k}`, 'unknown field (expected allow, capAdd, capDrop)');
    checkStrings(`${field}.${k}`, list).forEach((c, i) => {
      const n = normalizeCap(c);
      if (n !== 'ALL' && CAPABILITIES[n] === undefined) throw bad(`${field}.${k}[${i}]`, `unknown capability \`${c}\``);
    });
  }
}

function statOrThrow(field: string, p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (e) {
    throw bad(field, `\`${p}\`: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
}

/**
 * Checks a command for `isolation` and throws the first problem as a HullError naming the field.
 * Pure except for looking at the paths it names and /etc/passwd for a user name.
 */
export function validateExecCommand(cmd: unknown, isolation: Isolation, etc = '/etc'): ExecCommand {
  if (!isObject(cmd)) throw bad('command', 'must be an object');
  for (const k of Object.keys(cmd)) {
    if (!Object.hasOwn(EXEC_COMMAND_FIELDS, k)) throw bad(k, 'unknown field');
  }
  const c = cmd as unknown as ExecCommand;
  checkString('cmd', c.cmd);
  if (c.args !== undefined) checkStrings('args', c.args);
  if (c.env !== undefined) {
    checkStrings('env', c.env).forEach((e, i) => {
      if (e.indexOf('=') <= 0) throw bad(`env[${i}]`, `must be KEY=value, got \`${e}\``);
    });
  }
  resolveUser(c.user, etc);
  const taskDir = checkAbsolute('taskDir', c.taskDir);
  if (!statOrThrow('taskDir', taskDir).isDirectory()) throw bad('taskDir', `\`${taskDir}\` is not a directory`);
  if (c.resources !== undefined) {
    if (!isObject(c.resources)) throw bad('resources', 'must be an object');
    validateResources(c.resources);
  }
  const universal = isolation === 'universal';
  if (c.mounts !== undefined) {
    if (universal && c.mounts.length) throw bad('mounts', 'task volumes need isolation `isolated`', 'EUNSUPPORTED');
    volumesToMounts(c.mounts);
  }
  if (c.devices !== undefined) {
    if (!Array.isArray(c.devices)) throw bad('devices', 'must be an array');
    if (universal && c.devices.length) throw bad('devices', 'devices need isolation `isolated`', 'EUNSUPPORTED');
    c.devices.forEach((d, i) => checkDevice(`devices[${i}]`, d));
  }
  if (c.capabilities !== undefined) {
    checkCaps('capabilities', c.capabilities);
    // Nomad's allow/add/drop algorithm, checked here so that a refused capability fails in the agent
    taskCapabilities(c, resolveUser(c.user, etc).uid);
  }
  if (c.networkNamespace !== undefined) statOrThrow('networkNamespace', checkAbsolute('networkNamespace', c.networkNamespace));
  if (c.pidMode !== undefined) checkMode('pidMode', c.pidMode);
  if (c.ipcMode !== undefined) checkMode('ipcMode', c.ipcMode);
  if (universal && c.pidMode === 'private') throw bad('pidMode', 'a private pid namespace needs isolation `isolated`', 'EUNSUPPORTED');
  if (universal && c.ipcMode === 'private') throw bad('ipcMode', 'a private ipc namespace needs isolation `isolated`', 'EUNSUPPORTED');
  for (const f of ['stdout', 'stderr'] as const) {
    if (c[f] === undefined) continue;
    const p = checkAbsolute(f, c[f]);
    if (!statOrThrow(f, path.dirname(p)).isDirectory()) throw bad(f, `\`${path.dirname(p)}\` is not a directory`);
  }
  if (c.logRotation !== undefined) {
    if (!isObject(c.logRotation)) throw bad('logRotation', 'must be an object');
    const { maxFiles, maxFileSizeMB } = c.logRotation;
    if (maxFiles !== undefined && !(Number.isInteger(maxFiles) && (maxFiles as number) >= 1)) throw bad('logRotation.maxFiles', 'must be an integer ≥ 1');
    if (maxFileSizeMB !== undefined && !(typeof maxFileSizeMB === 'number' && maxFileSizeMB > 0)) {
      throw bad('logRotation.maxFileSizeMB', 'must be a number > 0');
    }
  }
  if (c.tty !== undefined && typeof c.tty !== 'boolean') throw bad('tty', 'must be a boolean');
  if (c.noNewPrivileges !== undefined && typeof c.noNewPrivileges !== 'boolean') throw bad('noNewPrivileges', 'must be a boolean');
  if (c.tty) throw bad('tty', 'a task with a terminal is not supported by the executor yet', 'EUNSUPPORTED');
  return c;
}

function checkDevice(field: string, d: unknown): void {
  if (!isObject(d)) throw bad(field, 'must be an object');
  for (const k of Object.keys(d)) if (k !== 'hostPath' && k !== 'taskPath' && k !== 'permissions') throw bad(`${field}.${k}`, 'unknown field');
  const host = checkAbsolute(`${field}.hostPath`, d.hostPath);
  const st = statOrThrow(`${field}.hostPath`, host);
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw bad(`${field}.hostPath`, `\`${host}\` is not a device`);
  if (d.taskPath !== undefined) checkAbsolute(`${field}.taskPath`, d.taskPath);
  if (d.permissions !== undefined && !(typeof d.permissions === 'string' && /^(?!.*(.).*\1)[rwm]{1,3}$/.test(d.permissions))) {
    throw bad(`${field}.permissions`, `must be a combination of r, w and m, got ${JSON.stringify(d.permissions)}`);
  }
}

// ---- users ----

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function readLines(file: string): string[][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function passwd(etc: string): PasswdEntry[] {
  return readLines(path.join(etc, 'passwd'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2] ?? '') && /^\d+$/.test(f[3] ?? ''))
    .map((f) => ({ name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]) }));
}

/** The groups that list `name` as a member, after its primary group: initgroups(3)'s list. */
function groupsOf(name: string, gid: number, etc: string): number[] {
  const out = [gid];
  for (const f of readLines(path.join(etc, 'group'))) {
    if (f.length < 4 || !/^\d+$/.test(f[2] ?? '')) continue;
    const members = (f[3] ?? '').split(',').map((m) => m.trim());
    const g = Number(f[2]);
    if (members.includes(name) && !out.includes(g)) out.push(g);
  }
  return out;
}

/**
 * The task's uid, gid and exact supplementary groups. No user: root with no supplementary group.
 * A name (or a numeric string with a passwd entry) gets its passwd gid and initgroups(3)'s list;
 * ids are taken as given. A group the user was not given is never added (Nomad added gid 0).
 */
export function resolveUser(user: unknown, etc = '/etc'): Required<ExecUserIds> {
  if (user === undefined) return { uid: 0, gid: 0, additionalGids: [] };
  if (isObject(user)) {
    for (const k of Object.keys(user)) if (k !== 'uid' && k !== 'gid' && k !== 'additionalGids') throw bad(`user.${k}`, 'unknown field');
    const uid = checkId('user.uid', user.uid);
    const gid = checkId('user.gid', user.gid);
    const extra = user.additionalGids === undefined ? [] : user.additionalGids;
    if (!Array.isArray(extra)) throw bad('user.additionalGids', 'must be an array of ids');
    return { uid, gid, additionalGids: extra.map((g, i) => checkId(`user.additionalGids[${i}]`, g)) };
  }
  const name = checkString('user', user);
  const entries = passwd(etc);
  if (/^\d+$/.test(name)) {
    const uid = checkId('user', Number(name));
    const e = entries.find((p) => p.uid === uid);
    return e ? { uid, gid: e.gid, additionalGids: groupsOf(e.name, e.gid, etc) } : { uid, gid: uid, additionalGids: [] };
  }
  const e = entries.find((p) => p.name === name);
  if (!e) throw bad('user', `no user \`${name}\` in ${path.join(etc, 'passwd')}`, 'ENOTFOUND');
  return { uid: e.uid, gid: e.gid, additionalGids: groupsOf(e.name, e.gid, etc) };
}

/** The task's capability sets from its allow/capAdd/capDrop (lib/task's computeCapabilities, Nomad's rules). */
export function taskCapabilities(c: Pick<ExecCommand, 'capabilities'>, uid: number): LinuxCapabilities {
  const caps = c.capabilities ?? {};
  try {
    return computeCapabilities({
      uid,
      ...(caps.allow ? { allow: caps.allow } : {}),
      ...(caps.capAdd ? { add: caps.capAdd } : {}),
      ...(caps.capDrop ? { drop: caps.capDrop } : {}),
    });
  } catch (e) {
    const err = e as HullError;
    throw new HullError(`invalid exec command: capabilities: ${err.message}`, { code: err.code ?? 'EINVALIDARG', field: 'capabilities', cause: e });
  }
}
