/**
 * exec: a new process in a running container. It joins the init's namespaces (/proc/<pid>/ns/*)
 * and cgroups, then the native core forks it into the pid namespace as hull's own child.
 */
import { HullError } from '../errors';
import type { NativePlan } from '../native';
import type { Process } from '../oci/schema';
import { CLONE } from './constants';
import { capsPlan, kernelCapLast, noRootfs, rlimitPlan } from './plan';
import type { Runtime } from './runtime';
import { openInit, readRecord } from './start';
import { currentStatus } from './state';
import type { ContainerRecord } from './state-store';

/** Namespaces an exec process enters; user and time are refused at create. */
const NS_FLAGS: Record<string, number> = {
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  network: CLONE.NEWNET,
  pid: CLONE.NEWPID,
  cgroup: CLONE.NEWCGROUP,
  mount: CLONE.NEWNS,
};

export interface ExecOptions {
  process: Process;
  stdio?: [number, number, number];
  consoleSocket?: string;
  preserveFds?: number;
  /** stop the process just before exec; it execs on release(holdFd) */
  hold?: boolean;
}

/** The CLONE_NEW* flags of the namespaces the container has: the exec process enters each. */
function namespaceFlags(rt: Runtime, rec: ContainerRecord): number {
  const spec = rt.store.readConfig(rec.id);
  return (spec.linux?.namespaces ?? []).reduce((flags, ns) => flags | (NS_FLAGS[ns.type] ?? 0), 0);
}

export function execPlan(rt: Runtime, rec: ContainerRecord, initPidfd: number, opts: ExecOptions): NativePlan {
  const p = opts.process;
  if (!p.args?.length) throw new HullError('invalid process: args: give the command to run', { code: 'EINVALIDCONFIG', field: 'process.args' });
  const plan: NativePlan = {
    cloneFlags: 0,
    exec: true,
    joins: [],
    joinPid: { pidfd: initPidfd, nstypes: namespaceFlags(rt, rec) },
    cgroupProcs: Object.values(rec.cgroupPaths).map((d) => `${d}/cgroup.procs`),
    ...noRootfs(),
    rlimits: rlimitPlan(p.rlimits),
    uid: p.user.uid,
    gid: p.user.gid,
    additionalGids: p.user.additionalGids ?? [],
    caps: capsPlan(p.capabilities),
    capLast: kernelCapLast(),
    noNewPrivileges: p.noNewPrivileges ?? false,
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    stdio: opts.stdio ?? [-1, -1, -1],
    preserveFds: opts.preserveFds ?? 0,
  };
  if (p.user.umask !== undefined) plan.umask = p.user.umask;
  if (p.oomScoreAdj !== undefined) plan.oomScoreAdj = p.oomScoreAdj;
  if (opts.consoleSocket) plan.consoleSocket = opts.consoleSocket;
  if (opts.hold) plan.hold = true;
  return plan;
}

/** Starts the process; the caller owns the returned pidfd and is the process's parent. */
export async function exec(rt: Runtime, id: string, opts: ExecOptions): Promise<{ pid: number; pidfd: number; holdFd?: number }> {
  const rec = readRecord(rt, id);
  const status = currentStatus(rt, rec);
  if (status !== 'running') throw new HullError(`cannot exec in container \`${id}\`: it is ${status}, not running`, { code: 'ESTATE' });
  if (opts.process.terminal && !opts.consoleSocket) {
    throw new HullError('invalid process: terminal: a terminal needs a console socket', { code: 'EINVALIDCONFIG', field: 'process.terminal' });
  }
  const initfd = openInit(rt, rec);
  try {
    return await rt.sys.spawn(execPlan(rt, rec, initfd, opts));
  } finally {
    rt.sys.close(initfd);
  }
}
