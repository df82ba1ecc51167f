import * as fs from 'node:fs';
import * as os from 'node:os';
import type { CgroupManager } from '../cgroup';
import { validateResources } from '../cgroup';
import { HullError } from '../errors';
import { loadBundle } from '../oci/validate';
import type { Spec } from '../oci/schema';
import { deviceRules } from './device-rules';
import { buildPlan, kernelCapLast } from './plan';
import type { Runtime } from './runtime';
import { validateId, writePidFile, type ContainerRecord } from './state-store';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** fds to become the init's 0, 1, 2; by default the caller's own are passed through */
  stdio?: [number, number, number];
  preserveFds?: number;
}

export interface Created {
  record: ContainerRecord;
  /** a pidfd of the init, owned by the caller */
  pidfd: number;
}

function checkTerminal(spec: Spec, opts: CreateOptions): void {
  if (spec.process?.terminal && !opts.consoleSocket) {
    throw new HullError('invalid config: process.terminal: a terminal needs a console socket (--console-socket)', {
      code: 'EINVALIDCONFIG',
      field: 'process.terminal',
    });
  }
  if (!spec.process?.terminal && opts.consoleSocket) {
    throw new HullError('--console-socket was given, but process.terminal is false', { code: 'EINVALIDARG', field: 'process.terminal' });
  }
}

/** Hierarchy keys (`memory`, `name=systemd`, `` for cgroup2) → directory names under /sys/fs/cgroup. */
function mountNames(paths: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, dir] of Object.entries(paths)) {
    const name = key === '' || key === 'unified' ? 'unified' : key.replace(/^name=/, '');
    out[name] = dir;
  }
  return out;
}

/** The fifo is the init's to open for writing after it has become the task's user. */
function makeFifo(rt: Runtime, id: string, spec: Spec): string {
  const fifo = rt.store.fifoPath(id);
  rt.sys.mkfifo(fifo, 0o600);
  fs.chownSync(fifo, spec.process?.user.uid ?? 0, spec.process?.user.gid ?? 0);
  return fifo;
}

async function spawnInit(rt: Runtime, opts: CreateOptions, spec: Spec, bundle: string, rootfs: string, cg: CgroupManager) {
  const fifoPath = makeFifo(rt, opts.id, spec);
  cg.create();
  cg.apply({ ...spec.linux?.resources, devices: deviceRules(spec) });
  const plan = buildPlan(spec, {
    bundle,
    rootfs,
    fifoPath,
    cgroupProcs: cg.procsFiles(),
    cgroupDirs: mountNames(cg.paths()),
    cgroupV2: cg.mode === 'v2',
    capLast: kernelCapLast(),
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    ...(opts.preserveFds ? { preserveFds: opts.preserveFds } : {}),
    ...(opts.consoleSocket ? { consoleSocket: opts.consoleSocket } : {}),
  });
  return rt.sys.spawn(plan);
}

let ownerName: string | undefined;

/** The user who created the container, as runc records it; looked up once per process. */
function owner(): string {
  ownerName ??= os.userInfo().username;
  return ownerName;
}

/** Undoes a create that failed part-way: nothing of it may stay behind. */
async function undo(rt: Runtime, id: string, cg: CgroupManager | undefined, pidfd: number | undefined): Promise<void> {
  if (pidfd !== undefined) {
    const exited = rt.sys.watchExit(pidfd);
    rt.sys.signal(pidfd, 9);
    await exited.catch(() => undefined);
    rt.sys.close(pidfd);
  }
  try {
    await cg?.destroy();
  } finally {
    rt.store.remove(id);
  }
}

/**
 * Creates the container: its init is set up and blocked on exec.fifo until start. The config is
 * validated before anything exists; on any failure everything made so far is removed.
 */
export async function create(rt: Runtime, opts: CreateOptions): Promise<Created> {
  validateId(opts.id);
  const { bundle, spec, rootfs } = loadBundle(opts.bundle);
  checkTerminal(spec, opts);
  validateResources(spec.linux?.resources ?? {});
  rt.store.claim(opts.id);
  let cg: CgroupManager | undefined;
  let pidfd: number | undefined;
  try {
    cg = rt.cgroups(opts.id, spec.linux?.cgroupsPath);
    const spawned = await spawnInit(rt, opts, spec, bundle, rootfs, cg);
    pidfd = spawned.pidfd;
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: opts.id,
      status: 'created',
      pid: spawned.pid,
      bundle,
      rootfs,
      annotations: spec.annotations ?? {},
      created: new Date().toISOString(),
      startTime: rt.sys.procStat(spawned.pid)?.startTime ?? 0,
      owner: owner(),
      cgroupPaths: cg.paths(),
      ...(spec.linux?.cgroupsPath !== undefined ? { cgroupsPath: spec.linux.cgroupsPath } : {}),
    };
    rt.store.writeConfig(opts.id, spec);
    rt.store.write(record);
    if (opts.pidFile) writePidFile(opts.pidFile, spawned.pid);
    return { record, pidfd: spawned.pidfd };
  } catch (e) {
    await undo(rt, opts.id, cg, pidfd);
    throw e;
  }
}
