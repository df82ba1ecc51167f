import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Root on a host with cgroups mounted: what the cgroup integration suite needs. */
export function canManageCgroups(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/sys/fs/cgroup');
}

export interface Gated {
  child: ChildProcess;
  pid: number;
  /** lets the shell past its `read`: call after the pid joined the cgroups, so nothing runs outside them */
  start(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `sh -c 'read _; <script>'`: the script starts only when start() writes a line. */
export function spawnGated(script: string): Gated {
  const child = spawn('sh', ['-c', `read _; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error(`spawn sh failed`);
  return { child, pid: child.pid, start: () => child.stdin?.end('go\n'), exited };
}

/** utime + stime of a process in clock ticks (proc(5) /proc/<pid>/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Every directory under /sys/fs/cgroup whose name starts with `prefix` (bounded depth: cgroups made by tests are shallow). */
export function findCgroupDirs(prefix: string, root = '/sys/fs/cgroup', depth = 5): string[] {
  const out: string[] = [];
  walk(root, prefix, depth, out);
  return out;
}

function walk(dir: string, prefix: string, depth: number, out: string[]): void {
  if (depth < 0) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    if (e.name.startsWith(prefix)) out.push(p);
    else walk(p, prefix, depth - 1, out);
  }
}

/** Last-resort cleanup: rmdir leaf-first everything found under the given dirs. */
export function removeTree(dir: string): void {
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // best effort
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
