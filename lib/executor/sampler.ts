/**
 * A task's stats stream: one sample at once, then one every interval (TickScheduler), each the
 * cgroup files read through kept fds, the pids, and the CPU share since the previous sample.
 *
 * The same stream runs in two places. In the executor it serves a `stats` request. In the agent
 * (ExecutorClient.stats, the default once the task's cgroup paths are known) it reads the task's
 * cgroups directly: the cgroup files are the same, but N tasks sampled from one process wake one
 * process N times a second instead of N processes once each, which on a small host is the
 * difference between a few percent of a core and a fraction of one.
 */
import { performance } from 'node:perf_hooks';
import type { CgroupManager, CgroupStats } from '../cgroup';
import { cpuPercent } from '../cgroup/stats';
import { type Clock, TickScheduler, checkInterval, realClock } from './scheduler';
import type { TaskResourceUsage } from './types';

export interface StatsStreamHandlers {
  sample(usage: TaskResourceUsage): void;
  /** a read failed (the cgroup went away with the task): the stream has stopped */
  error(e: unknown): void;
  /** once, when the stream stops: by stop(), or after a failed read */
  stopped?(): void;
}

/**
 * A stream, ready to start(): register it first, as the first sample (or its error) comes within
 * start(). `intervalMs` is checked before anything is opened.
 */
export function statsStream(cgroup: CgroupManager, intervalMs: unknown, on: StatsStreamHandlers, clock: Clock = realClock): TickScheduler {
  const interval = checkInterval(intervalMs);
  const reader = cgroup.statsReader();
  const procs = cgroup.procsReader();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    reader.close();
    procs.close();
    on.stopped?.();
  };
  let prev: CgroupStats | undefined;
  let prevAt = 0;
  const sched = new TickScheduler(
    interval,
    () => {
      const at = clock.now();
      const stats = reader.read();
      const usage: TaskResourceUsage = {
        stats,
        cpuPercent: cpuPercent(prev, stats, (at - prevAt) * 1e6),
        timestamp: performance.timeOrigin + at,
        pids: procs.read(),
      };
      prev = stats;
      prevAt = at;
      on.sample(usage);
    },
    clock,
    (e: unknown) => {
      close();
      on.error(e);
    },
  );
  // TickScheduler calls stop() itself when a tick throws: both ends close here
  const stop = sched.stop.bind(sched);
  sched.stop = () => {
    stop();
    close();
  };
  return sched;
}
