/** What the executor holds of its one task, whichever the isolation. */
import type { CgroupManager } from '../cgroup';
import type { ExitStatus } from '../native';
import type { ExecRequest } from './types';

/** How an exec'd process gets its stdio: three fds (pipes), or a pty sent on a console socket. */
export interface ExecIo {
  stdio?: [number, number, number];
  consoleSocket?: string;
  /** stop before exec (the terminal is sized first); the caller releases holdFd */
  hold?: boolean;
}

export interface ExecSpawned {
  pid: number;
  /** the caller's: it is the process's parent, and must watchExit(pidfd) and close it */
  pidfd: number;
  holdFd?: number;
}

export interface RunningTask {
  /** the lead process (the container's init when isolated) */
  pid: number;
  startTime: number;
  cgroup: CgroupManager;
  /** resolves when the lead process exits (reaped through its pidfd), never on pipe EOF */
  exited: Promise<ExitStatus>;
  /** the lead process only */
  signal(sig: number): void;
  /** a new process in the task: its cgroups (and namespaces, isolated), its user and capabilities unless overridden */
  exec(req: ExecRequest, io: ExecIo): Promise<ExecSpawned>;
  /** SIGKILL to every process of the task, then its cgroups and state removed; idempotent */
  destroy(): Promise<void>;
}

export interface LaunchContext {
  id: string;
  stateDir: string;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}
