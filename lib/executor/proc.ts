/** What /proc says about a pid: its start time and command line, the identity of an executor. */
import * as fs from 'node:fs';
import { parseProcStat } from '../container/syscalls';
import { EXECUTOR_MARKER } from './protocol';

export function procStartTime(pid: number): number | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))?.startTime;
  } catch {
    return undefined;
  }
}

/** Running (not a zombie, not gone). */
export function procAlive(pid: number): boolean {
  try {
    const st = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return st !== undefined && st.state !== 'Z' && st.state !== 'X';
  } catch {
    return false;
  }
}

export function procCmdline(pid: number): string[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return [];
  }
}

/**
 * Whether `pid` is still the executor that was started then with that config: the same start
 * time (a reused pid has another) and the executor marker followed by its config file in its
 * command line. Never signal or trust a pid before this says yes (Nomad #23969).
 */
export function isExecutorProcess(pid: number, startTime: number, configPath?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (procStartTime(pid) !== startTime || !procAlive(pid)) return false;
  const argv = procCmdline(pid);
  const at = argv.indexOf(EXECUTOR_MARKER);
  if (at < 0) return false;
  return configPath === undefined || argv[at + 1] === configPath;
}
