/**
 * The seam between lifecycle logic and the kernel (youki's Syscall trait): the verbs call only
 * these, so tests can run them against a recording double without root.
 */
import { readPseudoFile } from '../cgroup/files';
import { native, type ExitStatus, type NativePlan } from '../native';

export interface ProcStat {
  /** one-letter state: R, S, D, Z, T, ... */
  state: string;
  /** clock ticks since boot at which the process started */
  startTime: number;
}

export interface Syscalls {
  spawn(plan: NativePlan): Promise<{ pid: number; pidfd: number; holdFd?: number }>;
  /** lets a held process exec */
  releaseHeld(holdFd: number): void;
  /** releases the init blocked on exec.fifo, and waits for it to go on to exec */
  release(fifoPath: string, pidfd: number, timeoutMs: number): void;
  pidfdOpen(pid: number): number;
  signal(pidfd: number, signal: number): void;
  watchExit(pidfd: number): Promise<ExitStatus>;
  close(fd: number): void;
  mkfifo(path: string, mode: number): void;
  procStat(pid: number): ProcStat | undefined;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last `)`. */
export function parseProcStat(text: string): ProcStat | undefined {
  const end = text.lastIndexOf(')');
  if (end < 0) return undefined;
  const fields = text.slice(end + 2).split(' ');
  // fields[0] is field 3 (state); the start time is field 22
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isFinite(startTime)) return undefined;
  return { state: fields[0], startTime };
}

export const nativeSyscalls: Syscalls = {
  spawn: (plan) => native().spawn(plan),
  release: (fifoPath, pidfd, timeoutMs) => native().fifoRelease(fifoPath, pidfd, timeoutMs),
  releaseHeld: (holdFd) => native().release(holdFd),
  pidfdOpen: (pid) => native().pidfdOpen(pid),
  signal: (pidfd, sig) => native().pidfdSignal(pidfd, sig),
  watchExit: (pidfd) => native().watchExit(pidfd),
  close: (fd) => native().close(fd),
  mkfifo: (p, mode) => native().mkfifo(p, mode),
  procStat(pid) {
    try {
      return parseProcStat(readPseudoFile(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return undefined;
    }
  },
};
