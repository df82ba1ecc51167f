/**
 * Isolated mode: the task is an OCI container on the host's read-only system directories (the
 * config `hull sandbox` uses), run by the container core in the executor's own process, so the
 * executor is the init's parent and reaps it. Loaded only by executors in this mode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCgroupManager, type LinuxDeviceCgroup } from '../cgroup';
import { Container } from '../container/container';
import { defaultRuntime, type Runtime } from '../container/runtime';
import { nativeSyscalls } from '../container/syscalls';
import type { LinuxDevice, Mount, Spec } from '../oci/schema';
import { volumesToMounts } from '../task/volumes';
import { resolveUser, taskCapabilities } from './command';
import { hostRootSpec } from './host-spec';
import type { TaskOutput } from './output';
import { procStartTime } from './proc';
import { exec as containerExec } from '../container/exec';
import type { Process } from '../oci/schema';
import type { ExecIo, ExecSpawned, LaunchContext, RunningTask } from './task';
import type { ExecCommand, ExecDevice, ExecRequest } from './types';

function devNumbers(rdev: number): { major: number; minor: number } {
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00) };
}

function deviceOf(d: ExecDevice): { device: LinuxDevice; rule: LinuxDeviceCgroup } {
  const st = fs.statSync(d.hostPath);
  const type = st.isBlockDevice() ? 'b' : 'c';
  const { major, minor } = devNumbers(st.rdev);
  return {
    device: { path: d.taskPath ?? d.hostPath, type, major, minor, fileMode: st.mode & 0o777, uid: 0, gid: 0 },
    rule: { allow: true, type, major, minor, access: d.permissions ?? 'rwm' },
  };
}

/** The container's config for the command: everything in the ExecCommand lands here. */
export function isolatedSpec(cmd: ExecCommand, id: string): Spec {
  const user = resolveUser(cmd.user);
  const spec = hostRootSpec({
    args: [cmd.cmd, ...(cmd.args ?? [])],
    hostname: id,
    taskDir: cmd.taskDir,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids,
    env: cmd.env ?? [],
  });
  const proc = spec.process!;
  // Nomad sets no rlimits for exec tasks; no_new_privs is on unless the task turns it off; the agent's oom_score_adj is not inherited
  delete proc.rlimits;
  proc.noNewPrivileges = cmd.noNewPrivileges ?? true;
  proc.oomScoreAdj = 0;
  // Nomad's exec capabilities: the default set (minus what allow/capDrop remove, plus capAdd);
  // root gets it effective, another user only what capAdd raised
  proc.capabilities = taskCapabilities(cmd, user.uid);
  const linux = spec.linux!;
  const pidMode = cmd.pidMode ?? 'private';
  const ipcMode = cmd.ipcMode ?? 'private';
  linux.namespaces = (linux.namespaces ?? []).filter(
    (n) => !(n.type === 'pid' && pidMode === 'host') && !(n.type === 'ipc' && ipcMode === 'host') && n.type !== 'network',
  );
  // the network: the namespace asked for, else the host's (Nomad: NEWNET only with network isolation)
  if (cmd.networkNamespace) linux.namespaces.push({ type: 'network', path: cmd.networkNamespace });
  const devices = (cmd.devices ?? []).map(deviceOf);
  if (devices.length) linux.devices = devices.map((d) => d.device);
  const rules: LinuxDeviceCgroup[] = [{ allow: false, access: 'rwm' }, ...(cmd.resources?.devices ?? []), ...devices.map((d) => d.rule)];
  // the cgroup model allows null where the OCI schema wants the key absent
  const clean = (r: LinuxDeviceCgroup) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null && v !== undefined));
  linux.resources = { ...(cmd.resources ?? {}), devices: rules.map(clean) } as NonNullable<typeof linux.resources>;
  const volumes: Mount[] = cmd.mounts?.length ? volumesToMounts(cmd.mounts) : [];
  spec.mounts = [...(spec.mounts ?? []), ...volumes];
  return spec;
}

/**
 * The exec'd process: the task's own process config (user, capabilities, no_new_privs, rlimits,
 * env, cwd), with what the request overrides. Another user gets the capabilities the task's
 * rules give that user.
 */
export function execProcess(cmd: ExecCommand, base: Process, req: ExecRequest, terminal: boolean): Process {
  const p: Process = { ...base, terminal, args: [req.cmd, ...(req.args ?? [])] };
  if (req.env !== undefined) p.env = [...req.env];
  if (req.cwd !== undefined) p.cwd = req.cwd;
  if (req.user !== undefined) {
    const u = resolveUser(req.user);
    p.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    p.capabilities = taskCapabilities(cmd, u.uid);
  }
  return p;
}

/** The container runtime with its state under the executor's directory, and the init's death tied to ours. */
function runtimeFor(root: string): Runtime {
  const rt = defaultRuntime(root);
  return { ...rt, sys: { ...nativeSyscalls, spawn: (plan) => nativeSyscalls.spawn({ ...plan, pdeathsig: 9 }) } };
}

export async function launchIsolated(cmd: ExecCommand, ctx: LaunchContext, outputs: [TaskOutput, TaskOutput]): Promise<RunningTask> {
  const bundle = path.join(ctx.stateDir, 'bundle');
  const root = path.join(ctx.stateDir, 'containers');
  fs.rmSync(bundle, { recursive: true, force: true });
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true, mode: 0o711 });
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const spec = isolatedSpec(cmd, ctx.id);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const stdin = fs.openSync('/dev/null', 'r');
  let c: Container | undefined;
  try {
    c = await Container.create({ id: ctx.id, bundle, root, runtime: runtimeFor(root), stdio: [stdin, outputs[0].writeFd, outputs[1].writeFd] });
    c.start();
  } catch (e) {
    if (c) await c.delete(true).catch(() => undefined);
    fs.rmSync(bundle, { recursive: true, force: true });
    throw e;
  } finally {
    fs.closeSync(stdin);
  }
  const container = c;
  const rt = runtimeFor(root);
  const baseProcess = spec.process!;
  const exited = container.wait();
  let destroyed: Promise<void> | undefined;
  return {
    pid: container.pid,
    startTime: procStartTime(container.pid) ?? 0,
    // the same directories the container core made: `hull/<id>` below the executor's cgroup
    cgroup: createCgroupManager({ id: ctx.id }),
    exited,
    signal(sig) {
      container.kill(sig);
    },
    exec(req: ExecRequest, io: ExecIo): Promise<ExecSpawned> {
      return containerExec(rt, ctx.id, {
        process: execProcess(cmd, baseProcess, req, io.consoleSocket !== undefined),
        ...(io.stdio ? { stdio: io.stdio } : {}),
        ...(io.consoleSocket ? { consoleSocket: io.consoleSocket } : {}),
        ...(io.hold ? { hold: true } : {}),
      });
    },
    destroy() {
      destroyed ??= (async () => {
        await container.delete(true);
        fs.rmSync(bundle, { recursive: true, force: true });
        fs.rmSync(root, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };
}
