/**
 * Universal mode: the task is a plain process on the host's filesystem, spawned by the native
 * core with no rootfs. It joins its own cgroups (`hull/<id>` below the executor's) before exec,
 * gets its own session and process group, exactly the uid, gid and groups asked, oom_score_adj
 * 0, and SIGKILL should the executor die. The executor never enters the task's cgroups.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCgroupManager, type CgroupManager } from '../cgroup';
import { CLONE } from '../container/constants';
import { capsPlan, kernelCapLast, noRootfs } from '../container/plan';
import { native, type NativePlan } from '../native';
import { resolveUser, taskCapabilities } from './command';
import type { TaskOutput } from './output';
import { procStartTime } from './proc';
import type { ExecIo, ExecSpawned, LaunchContext, RunningTask } from './task';
import type { ExecCommand, ExecRequest } from './types';

function executable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    fs.accessSync(p, fs.constants.X_OK);
    return st.isFile();
  } catch {
    return false;
  }
}

/**
 * Nomad's lookup: `<taskDir>/local/<cmd>`, then `<taskDir>/<cmd>`; a relative path with a slash
 * is relative to the task dir; otherwise the name is left to the native core, which searches the
 * task's own PATH (never the executor's).
 */
export function lookupCommand(cmd: string, taskDir: string): string {
  if (path.isAbsolute(cmd)) return cmd;
  if (cmd.includes('/')) return path.join(taskDir, cmd);
  for (const p of [path.join(taskDir, 'local', cmd), path.join(taskDir, cmd)]) if (executable(p)) return p;
  return cmd;
}

/** The executor's own capability sets, from /proc/self/status. */
export function ownCaps(status = fs.readFileSync('/proc/self/status', 'utf8')): { bounding: bigint; permitted: bigint; effective: bigint } {
  const get = (k: string): bigint => {
    const m = new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return m ? BigInt(`0x${m[1]}`) : 0n;
  };
  return { bounding: get('CapBnd'), permitted: get('CapPrm'), effective: get('CapEff') };
}

/**
 * A plain process's capabilities, as if the executor had run it with setuid: root keeps the
 * executor's own, anyone else none; the bounding set is the executor's (Nomad's universal
 * executor never touches capabilities).
 */
export function plainCaps(uid: number, own = ownCaps()): NativePlan['caps'] {
  const mine = uid === 0 ? own.permitted : 0n;
  return { bounding: own.bounding, effective: uid === 0 ? own.effective & mine : 0n, permitted: mine, inheritable: 0n, ambient: 0n };
}

export function universalPlan(cmd: ExecCommand, cg: { procsFiles(): string[] }, stdio: [number, number, number]): NativePlan {
  const user = resolveUser(cmd.user);
  const capLast = kernelCapLast();
  return {
    cloneFlags: 0,
    joins: cmd.networkNamespace ? [{ path: cmd.networkNamespace, nstype: CLONE.NEWNET }] : [],
    cgroupProcs: cg.procsFiles(),
    ...noRootfs(),
    rlimits: [],
    // the agent often runs with a low (protected) score: the task must not inherit it (Nomad #10663)
    oomScoreAdj: 0,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    // no capabilities asked: a plain process, as Nomad's universal executor runs it; asked: Nomad's exec rules
    caps: cmd.capabilities ? capsPlan(taskCapabilities(cmd, user.uid)) : plainCaps(user.uid),
    capLast,
    noNewPrivileges: cmd.noNewPrivileges ?? true,
    args: [lookupCommand(cmd.cmd, cmd.taskDir), ...(cmd.args ?? [])],
    env: [...(cmd.env ?? [])],
    cwd: cmd.taskDir,
    stdio,
    preserveFds: 0,
    pdeathsig: 9,
  };
}

/**
 * An exec'd process in a universal task: a plain process like the task's own (its cgroups, its
 * network namespace, its user with exactly its groups, its capability rules), spawned by the
 * native core with no rootfs. With a tty, the native child itself opens /dev/ptmx (the host's
 * devpts, there being no rootfs), makes the pty its controlling terminal and sends the master
 * back on a console socket, exactly as for a container. node-pty is deliberately NOT used here:
 * it ignores a uid given without a gid, keeps the executor's supplementary groups (no
 * setgroups), leaks non-CLOEXEC fds into the child and reports exec failures only as text on the
 * terminal (docs/node-stack §7, pitfalls 9-13); hull's child sets groups exactly, closes every
 * other fd, and reports a failed exec as an error. node-pty stays the benchmark's reference.
 */
export function universalExecPlan(cmd: ExecCommand, cg: { procsFiles(): string[] }, req: ExecRequest, io: ExecIo): NativePlan {
  const merged: ExecCommand = {
    ...cmd,
    cmd: req.cmd,
    args: req.args ?? [],
    env: req.env ?? cmd.env ?? [],
    ...(req.user !== undefined ? { user: req.user } : {}),
  };
  const plan = universalPlan(merged, cg, io.stdio ?? [-1, -1, -1]);
  plan.cwd = req.cwd ?? cmd.taskDir;
  if (io.consoleSocket) plan.consoleSocket = io.consoleSocket;
  if (io.hold) plan.hold = true;
  return plan;
}

export async function launchUniversal(cmd: ExecCommand, ctx: LaunchContext, outputs: [TaskOutput, TaskOutput]): Promise<RunningTask> {
  const cg: CgroupManager = createCgroupManager({ id: ctx.id });
  cg.create();
  let pidfd = -1;
  const stdin = fs.openSync('/dev/null', 'r');
  try {
    cg.apply(cmd.resources ?? {});
    const spawned = await native().spawn(universalPlan(cmd, cg, [stdin, outputs[0].writeFd, outputs[1].writeFd]));
    pidfd = spawned.pidfd;
    const exited = native().watchExit(pidfd);
    exited.catch(() => undefined);
    let released = false;
    const release = (): void => {
      if (!released) native().close(pidfd);
      released = true;
    };
    void exited.then(release, release);
    return {
      pid: spawned.pid,
      startTime: procStartTime(spawned.pid) ?? 0,
      cgroup: cg,
      exited,
      signal(sig) {
        if (released) return; // reaped: the pid may be someone else's now
        native().pidfdSignal(pidfd, sig);
      },
      exec(req: ExecRequest, io: ExecIo): Promise<ExecSpawned> {
        return native().spawn(universalExecPlan(cmd, cg, req, io));
      },
      async destroy() {
        await cg.destroy();
      },
    };
  } catch (e) {
    await cg.destroy().catch(() => undefined);
    throw e;
  } finally {
    fs.closeSync(stdin);
  }
}
