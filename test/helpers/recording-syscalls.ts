/**
 * A double of the kernel seam (lib/container/syscalls.ts) that records every call and keeps a
 * table of fake processes, so that lifecycle logic runs without root (youki's TestHelperSyscall).
 */
import * as fs from 'node:fs';
import type { CgroupManager, StatsReader } from '../../lib/cgroup';
import { emptyStats } from '../../lib/cgroup/stats';
import type { ExitStatus, NativePlan } from '../../lib/native';
import type { Runtime } from '../../lib/container/runtime';
import { StateStore } from '../../lib/container/state-store';
import type { ProcStat, Syscalls } from '../../lib/container/syscalls';
import { HullError } from '../../lib/errors';

export interface Call {
  name: string;
  args: unknown[];
}

interface FakeProc {
  stat: ProcStat;
  exit?: (s: ExitStatus) => void;
  exited?: ExitStatus;
}

export class RecordingSyscalls implements Syscalls {
  readonly calls: Call[] = [];
  readonly procs = new Map<number, FakeProc>();
  private failures = new Map<string, { error: Error; times: number }>();
  private nextPid = 4000;

  /** Makes the next `times` calls of `name` throw `error`. */
  failOn(name: string, error: Error, times = 1): void {
    this.failures.set(name, { error, times });
  }

  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  private record(name: string, ...args: unknown[]): void {
    this.calls.push({ name, args });
    const f = this.failures.get(name);
    if (f && f.times > 0) {
      f.times--;
      throw f.error;
    }
  }

  private proc(pidfd: number): FakeProc {
    const p = this.procs.get(pidfd - 100_000);
    if (!p) throw new HullError('bad pidfd', { code: 'EBADF', errno: 9 });
    return p;
  }

  /** Ends a fake process as the kernel would. */
  exit(pid: number, s: ExitStatus): void {
    const p = this.procs.get(pid);
    if (!p || p.exited) return;
    p.stat = { ...p.stat, state: 'Z' };
    p.exited = s;
    p.exit?.(s);
  }

  async spawn(plan: NativePlan): Promise<{ pid: number; pidfd: number }> {
    this.record('spawn', plan);
    const pid = this.nextPid++;
    this.procs.set(pid, { stat: { state: 'S', startTime: 1000 + pid } });
    return { pid, pidfd: pid + 100_000 };
  }

  release(fifoPath: string, pidfd: number, timeoutMs: number): void {
    this.record('release', fifoPath, pidfd, timeoutMs);
  }

  releaseHeld(holdFd: number): void {
    this.record('releaseHeld', holdFd);
  }

  pidfdOpen(pid: number): number {
    this.record('pidfdOpen', pid);
    if (!this.procs.has(pid)) throw new HullError(`pidfd_open ${pid}: no such process`, { code: 'ESRCH', errno: 3 });
    return pid + 100_000;
  }

  signal(pidfd: number, signal: number): void {
    this.record('signal', pidfd, signal);
    if (signal === 9) this.exit(pidfd - 100_000, { exitCode: null, signal: 9, coreDumped: false });
  }

  watchExit(pidfd: number): Promise<ExitStatus> {
    this.record('watchExit', pidfd);
    const p = this.proc(pidfd);
    if (p.exited) return Promise.resolve(p.exited);
    return new Promise((resolve) => {
      p.exit = resolve;
    });
  }

  close(fd: number): void {
    this.record('close', fd);
  }

  mkfifo(path: string, mode: number): void {
    this.record('mkfifo', path, mode);
    fs.writeFileSync(path, '', { mode }); // a plain file stands in: status only checks that it exists
  }

  procStat(pid: number): ProcStat | undefined {
    return this.procs.get(pid)?.stat;
  }
}

/** A CgroupManager that records what the lifecycle asks of it. */
export class RecordingCgroups
  implements
    Pick<CgroupManager, 'mode' | 'paths' | 'create' | 'apply' | 'procsFiles' | 'pids' | 'destroy' | 'freeze' | 'thaw' | 'isFrozen' | 'oomKillCount' | 'statsReader'>
{
  readonly mode = 'hybrid' as const;
  readonly calls: string[] = [];
  applied: unknown[] = [];
  destroyed = false;
  memberPids: number[] = [];
  frozen = false;
  oomKills = 0;

  constructor(readonly id: string) {}

  paths(): Record<string, string> {
    return { memory: `/fake/memory/hull/${this.id}`, 'name=systemd': `/fake/systemd/hull/${this.id}` };
  }
  create(): void {
    this.calls.push('create');
  }
  apply(resources: unknown): void {
    this.calls.push('apply');
    this.applied.push(resources);
  }
  procsFiles(): string[] {
    return Object.values(this.paths()).map((d) => `${d}/cgroup.procs`);
  }
  pids(): number[] {
    return this.memberPids;
  }
  async destroy(): Promise<void> {
    this.calls.push('destroy');
    this.destroyed = true;
  }
  async freeze(): Promise<void> {
    this.calls.push('freeze');
    this.frozen = true;
  }
  async thaw(): Promise<void> {
    this.calls.push('thaw');
    this.frozen = false;
  }
  isFrozen(): boolean {
    return this.frozen;
  }
  oomKillCount(): number {
    return this.oomKills;
  }
  /** readers handed out; each read() returns a fresh sample with pids.current = memberPids.length */
  readers: { reads: number; closed: boolean }[] = [];
  statsReader(): StatsReader {
    const r = { reads: 0, closed: false };
    this.readers.push(r);
    return {
      read: () => {
        r.reads++;
        const s = emptyStats();
        s.pids.current = this.memberPids.length;
        s.measured = ['pids.current'];
        return s;
      },
      close: () => {
        r.closed = true;
      },
    } as unknown as StatsReader;
  }
}

export interface RecordingRuntime {
  rt: Runtime;
  sys: RecordingSyscalls;
  /** the RecordingCgroups of each container id, made on first use */
  cgroups: Map<string, RecordingCgroups>;
}

/** A Runtime whose state is real (a StateStore in `root`) and whose kernel calls are recorded. */
export function recordingRuntime(root: string): RecordingRuntime {
  const sys = new RecordingSyscalls();
  const cgroups = new Map<string, RecordingCgroups>();
  const rt: Runtime = {
    store: new StateStore(root),
    sys,
    cgroups: (id) => {
      const cg = cgroups.get(id) ?? new RecordingCgroups(id);
      cgroups.set(id, cg);
      return cg as unknown as CgroupManager;
    },
  };
  return { rt, sys, cgroups };
}
