/**
 * The library's handle on one container that this process created: it keeps the init's pidfd,
 * reaps it, and gives its exit status to every caller of wait().
 */
import type { ExitStatus } from '../native';
import { exitStatusCode, parseSignal } from '../signals';
import { create, type CreateOptions } from './create';
import { remove } from './delete';
import { kill } from './kill';
import { defaultRuntime, type Runtime } from './runtime';
import { start } from './start';
import { state, type OciState } from './state';
import type { ContainerRecord } from './state-store';

export interface ContainerExit extends ExitStatus {
  /** the shell's view: the exit code, or 128+N for death by signal N */
  status: number;
  /** the kernel OOM-killed a process of the container (its cgroup's oom_kill count) */
  oomKilled: boolean;
}

export interface ContainerOptions extends CreateOptions {
  /** state directory, default /run/hull */
  root?: string;
  runtime?: Runtime;
}

export class Container {
  private pidfd: number | undefined;
  private readonly exit: Promise<ContainerExit>;

  private constructor(
    readonly id: string,
    readonly pid: number,
    pidfd: number,
    private readonly rt: Runtime,
    private readonly record: ContainerRecord,
  ) {
    this.pidfd = pidfd;
    this.exit = rt.sys.watchExit(pidfd).then((s) => ({ ...s, status: exitStatusCode(s), oomKilled: this.oomKilled() }));
    // a waiter may never come: the rejection is handled where wait() is called
    this.exit.catch(() => undefined);
  }

  /** Creates the container from an OCI bundle; its init waits for start(). */
  static async create(opts: ContainerOptions): Promise<Container> {
    const rt = opts.runtime ?? defaultRuntime(opts.root);
    const { record, pidfd } = await create(rt, opts);
    return new Container(record.id, record.pid, pidfd, rt, record);
  }

  /** Read when the init has exited, before delete removes the cgroup that counts OOM kills. */
  private oomKilled(): boolean {
    try {
      return this.rt.cgroups(this.id, this.record.cgroupsPath, this.record.cgroupPaths).oomKillCount() > 0;
    } catch {
      return false; // the cgroup is gone already: a delete raced the exit
    }
  }

  start(): void {
    start(this.rt, this.id, this.pidfd);
  }

  /** Signals the init, by pidfd, so a reused pid can never be hit. */
  kill(signal: string | number = 'SIGTERM', all = false): void {
    if (all || this.pidfd === undefined) {
      kill(this.rt, this.id, signal, all);
      return;
    }
    this.rt.sys.signal(this.pidfd, parseSignal(signal));
  }

  wait(): Promise<ContainerExit> {
    return this.exit;
  }

  state(): OciState {
    return state(this.rt, this.id);
  }

  /** Removes the container; with force, a running one is killed first. */
  async delete(force = false): Promise<void> {
    await remove(this.rt, this.id, force);
    if (force) await this.exit.catch(() => undefined);
    this.release();
  }

  private release(): void {
    if (this.pidfd === undefined) return;
    this.rt.sys.close(this.pidfd);
    this.pidfd = undefined;
  }
}

/** Create, start, wait and delete: the in-process `run` of a bundle. */
export async function runContainer(opts: ContainerOptions): Promise<ContainerExit> {
  const c = await Container.create(opts);
  try {
    c.start();
    return await c.wait();
  } finally {
    await c.delete(true);
  }
}
