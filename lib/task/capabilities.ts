/**
 * A task's capability policy, as Nomad's exec driver has it (allow_caps, cap_add, cap_drop),
 * turned into the five OCI capability sets.
 *
 *   set = (DEFAULT_CAPABILITIES ∩ allow) − drop + add,   add ⊆ allow
 *
 * `allow` defaults to DEFAULT_CAPABILITIES, so allowing more (even `all`) grants nothing by itself:
 * only `add` enlarges the set, and only with names that `allow` lists. `add` wins over `drop`
 * (`drop: ['all'], add: ['chown']` leaves exactly CAP_CHOWN).
 *
 * Names are case-insensitive, with or without `CAP_`; `all` is every capability the kernel knows.
 */
import { configError } from '../errors';
import { CAPABILITIES, CAP_LAST_CAP, DEFAULT_CAPABILITIES } from '../oci/capabilities';
import type { LinuxCapabilities } from '../oci/schema';
import { kernelCapLast } from '../container/plan';

export interface CapabilityPolicy {
  /** the task's uid: 0 is root, whatever the user is called */
  uid: number;
  /** what the operator lets tasks add; default DEFAULT_CAPABILITIES */
  allow?: string[];
  /** capAdd: added to the set, and, for a non-root task, raised as ambient */
  add?: string[];
  /** capDrop */
  drop?: string[];
  /** /proc/sys/kernel/cap_last_cap; read from the kernel when not given (for tests) */
  capLast?: number;
}

/** `cap_net_raw`, `NET_RAW`, ` Net_Raw ` → `net_raw`: Nomad's normal form. */
function normalise(name: string): string {
  const n = name.trim().toLowerCase();
  return n.startsWith('cap_') ? n.slice(4) : n;
}

/** Every capability this kernel and hull both know, by name. */
function allCapabilities(capLast: number): string[] {
  const last = Math.min(capLast, CAP_LAST_CAP);
  return Object.keys(CAPABILITIES).filter((name) => (CAPABILITIES[name] as number) <= last);
}

/**
 * A list of names → the set of `CAP_*` names. Unknown names, and names of capabilities newer
 * than the kernel (which capset would reject), fail with every offending name listed.
 */
function parseList(list: unknown, field: string, capLast: number): Set<string> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) throw configError(field, 'must be an array of capability names');
  const out = new Set<string>();
  const unknown: string[] = [];
  const unsupported: string[] = [];
  for (const raw of list) {
    if (typeof raw !== 'string') {
      unknown.push(String(raw));
      continue;
    }
    const n = normalise(raw);
    if (n === 'all') {
      for (const c of allCapabilities(capLast)) out.add(c);
      continue;
    }
    const name = `CAP_${n.toUpperCase()}`;
    const num = Object.hasOwn(CAPABILITIES, name) ? CAPABILITIES[name] : undefined;
    if (num === undefined) unknown.push(raw);
    else if (num > capLast) unsupported.push(raw);
    else out.add(name);
  }
  if (unknown.length) throw configError(field, `unknown capabilities: ${unknown.map((s) => JSON.stringify(s)).join(', ')}`);
  if (unsupported.length) {
    throw configError(field, `capabilities not supported by this kernel (cap_last_cap ${capLast}): ${unsupported.map((s) => JSON.stringify(s)).join(', ')}`);
  }
  return out;
}

/** Sorted `CAP_*` names, the order Nomad prints them in and DEFAULT_CAPABILITIES has. */
function sorted(set: Iterable<string>): string[] {
  return [...set].sort();
}

/**
 * The OCI `process.capabilities` of a task.
 *
 * Root (uid 0): the set in bounding, permitted, effective and inheritable; no ambient. Root gets
 * its permitted set back from the kernel at every execve anyway (bounded by the bounding set), so
 * inheritable = set gives root nothing it would not have; ambient is for non-root users only.
 *
 * Non-root: the set in bounding, and only the `add` names in inheritable, permitted, effective
 * and ambient.
 * - Ambient is the only way a capability survives execve by a non-root user of a binary without
 *   file capabilities: without it `add` would do nothing for such a task (Nomad before 1.5.3,
 *   #16642: `nc -l 443` with net_bind_service failed). The kernel only accepts an ambient bit
 *   that is both permitted and inheritable, hence add ⊆ inheritable.
 * - Inheritable holds no more than that: with the whole set inheritable, a non-root task running
 *   a binary with file-inheritable capabilities would gain them (runc's CVE-2022-29162).
 * - Nothing else is permitted or effective: a task run as nobody with no `add` has EMPTY
 *   permitted and effective sets. Nomad 0.9.0 put every capability in every set for such a task
 *   (CVE-2019-12618, #5783: nobody could become root); Nomad 1.5.3+ puts the whole set in
 *   permitted and ambient, so a non-root task holds all default capabilities (CHOWN,
 *   DAC_OVERRIDE, SETUID...) without asking. Here it holds only what it asked for.
 * - The bounding set still caps what a setuid-root binary or file capabilities could give
 *   (and with no_new_privs, which hull sets by default, execve grants nothing new at all).
 */
export function computeCapabilities(opts: CapabilityPolicy): LinuxCapabilities {
  if (!Number.isInteger(opts.uid) || opts.uid < 0 || opts.uid > 0xffff_ffff) {
    throw configError('uid', `must be an integer from 0 to 2^32-1, got ${String(opts.uid)}`);
  }
  const capLast = opts.capLast ?? kernelCapLast();
  if (!Number.isInteger(capLast) || capLast < 0) throw configError('capLast', `must be a non-negative integer, got ${String(capLast)}`);

  const allow = opts.allow === undefined ? new Set(DEFAULT_CAPABILITIES) : parseList(opts.allow, 'allowCaps', capLast);
  const add = parseList(opts.add, 'capAdd', capLast);
  const drop = parseList(opts.drop, 'capDrop', capLast);

  const forbidden = sorted([...add].filter((c) => !allow.has(c)));
  if (forbidden.length) {
    throw configError('capAdd', `the following capabilities are not allowed: ${forbidden.map((c) => normalise(c)).join(', ')}`);
  }

  const set = new Set(DEFAULT_CAPABILITIES.filter((c) => allow.has(c) && (CAPABILITIES[c] as number) <= capLast));
  for (const c of drop) set.delete(c);
  for (const c of add) set.add(c);
  const all = sorted(set);

  if (opts.uid === 0) {
    return { bounding: all, permitted: [...all], effective: [...all], inheritable: [...all], ambient: [] };
  }
  const raised = sorted([...add].filter((c) => set.has(c)));
  return { bounding: all, inheritable: raised, permitted: [...raised], effective: [...raised], ambient: [...raised] };
}
