/** What the executor holds of its one task, whichever the isolation. */
import type { CgroupManager } from '../cgroup';
import type { ExitStatus } from '../native';

export interface RunningTask {
  /** the lead process (the container's init when isolated) */
  pid: number;
  startTime: number;
  cgroup: CgroupManager;
  /** resolves when the lead process exits (reaped through its pidfd), never on pipe EOF */
  exited: Promise<ExitStatus>;
  /** the lead process only */
  signal(sig: number): void;
  /** SIGKILL to every process of the task, then its cgroups and state removed; idempotent */
  destroy(): Promise<void>;
}

export interface LaunchContext {
  id: string;
  stateDir: string;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}
