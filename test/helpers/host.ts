/**
 * What the host looks like around a container: snapshots that prove a container left nothing
 * behind (cgroups, mounts, processes, state), and a way to drive the `hull` CLI. Read-only with
 * respect to the host, except for removing the empty `hull` parent cgroups the suites created.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectHierarchies } from '../../lib/cgroup';
import { statusFields } from './parse';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const REPO = path.resolve(__dirname, '../..');
export const HULL_BIN = path.join(REPO, 'bin/hull.js');

/**
 * The kernel feature the container suites need and this kernel lacks, or undefined: the only
 * reason they skip (everything else missing is a failure, see assertHostReady).
 */
export function missingKernelFeature(): string | undefined {
  for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']) {
    if (!fs.existsSync(`/proc/self/ns/${ns}`)) return `${ns} namespaces (/proc/self/ns/${ns})`;
  }
  if (cgroupHierarchies().length === 0) return `cgroups mounted under ${CGROUP_ROOT}`;
  const [major = 0, minor = 0] = os.release().split('.').map((n) => parseInt(n, 10));
  if (major < 5 || (major === 5 && minor < 3)) return `pidfd_open(2) (Linux 5.3, this is ${os.release()})`;
  return undefined;
}

/** `describe`, or, on a kernel without what containers need, a skip that says what is missing. */
export function describeContainers(name: string, fn: () => void): void {
  const lacking = missingKernelFeature();
  if (lacking) describe.skip(`${name} (skipped: the kernel lacks ${lacking})`, fn);
  else describe(name, fn);
}

/** What the suites need of the host besides the kernel; a missing one fails them, with the fix. */
export function assertHostReady(): void {
  if (process.getuid?.() !== 0) throw new Error('the container integration suites need root (they create namespaces and cgroups)');
  if (!fs.existsSync(path.join(REPO, 'dist/cli/main.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` first');
  if (!fs.existsSync(path.join(REPO, 'build/Release/hull.node')) && !fs.existsSync(path.join(REPO, 'prebuilds'))) {
    throw new Error('the addon is not built: run `npx cmake-js compile` first');
  }
  try {
    fs.accessSync('/bin/busybox', fs.constants.X_OK);
  } catch {
    throw new Error('/bin/busybox is missing: install busybox-static (the test rootfs is built from it)');
  }
}

function readdir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The hierarchies mounted under /sys/fs/cgroup (/sys/fs/cgroup itself on a pure v2 host). */
export function cgroupHierarchies(): string[] {
  const mounts = (read('/proc/self/mountinfo') ?? '').split('\n');
  const out = new Set<string>();
  for (const line of mounts) {
    const [pre, post] = line.split(' - ');
    const fstype = post?.split(' ')[0];
    const mp = pre?.split(' ')[4];
    if (mp && (fstype === 'cgroup' || fstype === 'cgroup2') && (mp === CGROUP_ROOT || mp.startsWith(`${CGROUP_ROOT}/`))) out.add(mp);
  }
  return [...out].sort();
}

/** Directories whose name contains `needle`, under each hierarchy down to `depth` levels. */
export function findCgroups(needle: string, depth = 5): string[] {
  const out: string[] = [];
  const walk = (dir: string, left: number): void => {
    if (left < 0) return;
    for (const e of readdir(dir)) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.includes(needle)) out.push(p);
      walk(p, left - 1);
    }
  };
  for (const h of cgroupHierarchies()) walk(h, depth);
  return out;
}

/** Host pids whose /proc/<pid>/cgroup mentions `needle`. */
export function pidsInCgroupsNamed(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdir('/proc')) {
    if (!/^\d+$/.test(e.name)) continue;
    if (read(`/proc/${e.name}/cgroup`)?.includes(needle)) out.push(Number(e.name));
  }
  return out;
}

/** Lines of the host's mountinfo (this process's mount namespace) that mention any of `needles`. */
export function mountsMentioning(...needles: string[]): string[] {
  const lines = (read('/proc/self/mountinfo') ?? '').split('\n');
  return lines.filter((l) => needles.some((n) => n && l.includes(n)));
}

export interface LeftoverScope {
  /** the state root (`--root`): `<root>/<id>` must be gone */
  root?: string;
  /** the bundle directory: no mount may mention it */
  bundle?: string;
}

/**
 * What a container `id` left on the host: cgroup directories named after it in any hierarchy,
 * mounts mentioning its id or bundle, processes in its cgroups, and its state directory. Empty
 * when nothing is left.
 */
export function leftovers(id: string, scope: LeftoverScope = {}): string[] {
  const out: string[] = [];
  for (const dir of findCgroups(id)) out.push(`cgroup ${dir}`);
  for (const line of mountsMentioning(id, ...(scope.bundle ? [scope.bundle] : []))) out.push(`mount ${line}`);
  for (const pid of pidsInCgroupsNamed(id)) {
    const cmd = (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim();
    out.push(`process ${pid} ${cmd}`);
  }
  if (scope.root && fs.existsSync(path.join(scope.root, id))) out.push(`state ${path.join(scope.root, id)}`);
  return out;
}

/**
 * The host's mounts that are this test process's business: the `/` line (its propagation must
 * never change) and every mount mentioning `hull-test-<pid>-`, the prefix of this process's ids
 * and directories. Other mounts may come and go meanwhile: other work shares the host.
 */
export function hostMountSnapshot(): string[] {
  const mine = `hull-test-${process.pid}-`;
  const lines = (read('/proc/self/mountinfo') ?? '').split('\n');
  return lines.filter((l) => l.split(' ')[4] === '/' || l.includes(mine));
}

/** leftovers(), after letting an exited init be reaped by whoever is its parent now (up to `ms`). */
export async function settledLeftovers(id: string, scope: LeftoverScope = {}, ms = 2000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = leftovers(id, scope);
    if (left.length === 0 || Date.now() > until) return left;
    await delay(25);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value, or fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Whether the process has a handler for the signal (SigCgt in /proc/<pid>/status): a shell's trap is set. */
export function catchesSignal(pid: number, signal: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(read(`/proc/${pid}/status`) ?? '');
  return !!m && ((BigInt(`0x${m[1]}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

/** Fields 3.. of /proc/<pid>/stat, after the command name: [state, ppid, pgrp, session, tty_nr, ...]. */
export function statFields(pid: number): string[] {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The `Key:\tvalue` fields of /proc/<pid>/status. */
export function procStatus(pid: number): Record<string, string> {
  return statusFields(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** The children of `pid`, zombies included (what a process that never reaps would leave), in /proc order. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdir('/proc')) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Number(statFields(Number(e.name))[1]) === pid) out.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Waits for `pid` to run `args`. As with runc, `start` returns once the init has taken the go from
 * exec.fifo, and an exec once its process is made: each a moment before the process's execve.
 */
export async function waitForExec(pid: number, args: string[], ms = 5000): Promise<void> {
  const want = `${args.join('\0')}\0`;
  await waitFor(`pid ${pid} to exec ${args.join(' ')}`, () => read(`/proc/${pid}/cmdline`) === want, ms);
}

/** SIGKILLs each pid that is still there: cleanup of processes a test started outside any container. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function alive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * The `hull` parent directories (`<own cgroup>/hull` in each hierarchy) that hull creates for
 * containers without a cgroupsPath and does not remove. A suite snapshots them before it runs
 * and removes, after, the empty ones it created (rmdir fails on a non-empty cgroup: no harm).
 */
export function hullParentCgroups(): string[] {
  try {
    return detectHierarchies().hierarchies.map((h) => path.join(h.ownDir, 'hull'));
  } catch {
    return [];
  }
}

export function snapshotHullParents(): Set<string> {
  return new Set(hullParentCgroups().filter((d) => fs.existsSync(d)));
}

export function removeNewHullParents(before: Set<string>): void {
  for (const d of hullParentCgroups()) {
    if (before.has(d)) continue;
    try {
      fs.rmdirSync(d);
    } catch {
      // not ours to force: busy or gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the CLI
// ---------------------------------------------------------------------------------------------

export interface HullResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/hull.js --root <root> ARGS` to completion. Its output goes to files, not
 * pipes: a created or detached container's init inherits them, and a pipe it holds open would
 * keep spawnSync waiting for EOF until the container exits.
 */
export function hull(root: string, args: string[], opts: { timeout?: number; globals?: string[]; input?: string } = {}): HullResult {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `hull-test-${process.pid}-out-`));
  const outFd = fs.openSync(path.join(out, 'stdout'), 'w+');
  const errFd = fs.openSync(path.join(out, 'stderr'), 'w+');
  try {
    const r = spawnSync(process.execPath, [HULL_BIN, '--root', root, ...(opts.globals ?? []), ...args], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd, errFd],
      ...(opts.input === undefined ? {} : { input: opts.input }),
      timeout: opts.timeout ?? 8000,
      env: cliEnv(),
    });
    return {
      status: r.status,
      signal: r.signal,
      stdout: fs.readFileSync(path.join(out, 'stdout'), 'utf8'),
      stderr: fs.readFileSync(path.join(out, 'stderr'), 'utf8'),
    };
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** A hull result that must be a success; otherwise an error with hull's stderr. */
export function ok<R extends { status: number | null; stderr: string }>(r: R): R {
  if (r.status !== 0) throw new Error(`hull exited ${r.status}: ${r.stderr}`);
  return r;
}

/**
 * The state hull recorded in `<root>/<id>/state.json`, read directly: polling through `hull state`
 * would start a node process per poll. Undefined while there is none.
 */
export function recordedState(root: string, id: string): { status: string; pid: number } | undefined {
  const text = read(path.join(root, id, 'state.json'));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as { status: string; pid: number };
  } catch {
    return undefined;
  }
}

/** The environment of the CLI: the test's own, which no container may see. */
function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, HULL_TEST_MARKER: 'leak-me-not' };
}

export interface Background {
  pid: number;
  /** resolves with the CLI's exit; stdout/stderr are collected from pipes */
  done: Promise<HullResult>;
  /** cleanup: SIGKILLs the CLI if it still runs, and waits for it */
  stop(): Promise<void>;
}

/**
 * Starts `hull ARGS` in the background (for `hull run` in the foreground that the test then
 * kills from outside). Its stdio are pipes: the container's init is its child and exits with it.
 */
export function hullBackground(root: string, args: string[]): Background {
  const child = spawn(process.execPath, [HULL_BIN, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<HullResult>((resolve) => {
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error('spawn node failed');
  let exited = false;
  void done.then(() => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGKILL');
    await done;
  };
  return { pid: child.pid, done, stop };
}
