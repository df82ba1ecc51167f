/**
 * The typed surface of the addon (native/binding/addon.cc), and its loader. Nothing else in
 * lib/ requires the .node file.
 */
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');
import { HullError, errnoName, errnoText } from './errors';

export interface NativeMount {
  source?: string;
  destination: string;
  fstype?: string;
  data?: string;
  /** MS_* without propagation */
  flags: number;
  /** MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_UNBINDABLE, with MS_REC, or 0 */
  propagation: number;
  /** the mount point is a file (a bind of a file) */
  file: boolean;
}

export interface NativeDevice {
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO */
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface NativeCaps {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** Everything the container's init needs, computed before clone (see native/include/hull.h). */
export interface NativePlan {
  cloneFlags: number;
  joins: { path: string; nstype: number }[];
  /** enter the namespaces (CLONE_NEW* flags) of the process behind a pidfd the caller owns */
  joinPid?: { pidfd: number; nstypes: number };
  cgroupProcs: string[];
  /** absent: no rootfs, the task keeps the host's filesystem (the executor's universal mode) */
  rootfs?: string;
  rootfsReadonly: boolean;
  rootfsPropagation: number;
  noPivot: boolean;
  mounts: NativeMount[];
  devices: NativeDevice[];
  symlinks: { target: string; path: string }[];
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: { key: string; value: string }[];
  hostname?: string;
  domainname?: string;
  rlimits: { resource: number; soft: bigint; hard: bigint }[];
  oomScoreAdj?: number;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  caps: NativeCaps;
  capLast: number;
  noNewPrivileges: boolean;
  args: string[];
  env: string[];
  cwd: string;
  /** exec.fifo: the init waits on it for start; absent: exec at once */
  fifoPath?: string;
  /** fds to become the init's 0, 1, 2; -1 keeps the inherited one */
  stdio: [number, number, number];
  preserveFds: number;
  consoleSocket?: string;
  /** signal the task gets if the process that spawned it dies (PR_SET_PDEATHSIG) */
  pdeathsig?: number;
  /** exec into a running container: joins are its namespaces; the process forks into its pid namespace */
  exec?: boolean;
  /** stop just before exec and report; the process execs on release(holdFd) */
  hold?: boolean;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
}

export interface NativeAddon {
  setErrorFactory(f: (errnum: number, step: string, syscall: string, path: string, msg: string) => Error): void;
  spawn(plan: NativePlan): Promise<{ pid: number; pidfd: number; holdFd?: number }>;
  /** lets a held process exec, and closes holdFd; close(holdFd) instead makes it exit */
  release(holdFd: number): void;
  fifoRelease(fifoPath: string, pidfd: number, timeoutMs: number): void;
  pidfdOpen(pid: number): number;
  pidfdSignal(pidfd: number, signal: number): void;
  /** Resolves when our child behind pidfd exits, and reaps it. The caller keeps its pidfd. */
  watchExit(pidfd: number): Promise<ExitStatus>;
  close(fd: number): void;
  recvFd(sock: number): { fd: number; name: string };
  sendFd(sock: number, fd: number, payload?: string): void;
  setWinsize(fd: number, cols: number, rows: number): void;
  /** clears OPOST on a terminal (cfmakeraw's output half, which Node's setRawMode leaves on) */
  clearOpost(fd: number): void;
  mkfifo(path: string, mode: number): void;
  /** pipe2(O_CLOEXEC): [readFd, writeFd] */
  pipe(): [number, number];
  setNonblock(fd: number): void;
  /** fcntl(F_DUPFD_CLOEXEC): a second fd on the same open file */
  dup(fd: number): number;
  /** pread(fds[i], buf at i * slot, slot bytes, offset 0) for each fd; lens[i] = length or -errno */
  preadAll(fds: Int32Array, lens: Int32Array, buf: Buffer, slot: number): void;
  /** a listening unix stream socket, close-on-exec */
  listenUnix(path: string): number;
  accept(fd: number): number;
}

/** Builds hull's error from what the core reported: the message names the syscall and path. */
export function nativeError(errnum: number, step: string, syscall: string, path: string, msg: string): HullError {
  const text = errnum ? `${msg}: ${errnoText(errnum)}` : msg;
  return new HullError(text, {
    code: errnum ? errnoName(errnum) : 'ECHILDEXIT',
    ...(errnum ? { errno: errnum } : {}),
    ...(syscall ? { syscall } : {}),
    ...(path ? { path } : {}),
    ...(step ? { step } : {}),
  });
}

let loaded: NativeAddon | undefined;

/** The addon, loaded on first use so that commands that never touch it start faster. */
export function native(): NativeAddon {
  if (!loaded) {
    // __dirname is lib/ under ts-jest and dist/ (or the CLI bundle's dist/) after the build: one
    // level below the package root either way
    loaded = loadAddon(path.join(__dirname, '..'));
    loaded.setErrorFactory(nativeError);
  }
  return loaded;
}

/**
 * build/Release/hull.node when a source build made it, which is node-gyp-build's first choice
 * too; otherwise node-gyp-build's search (prebuilds/, its environment overrides). Going there
 * first saves every CLI command node-gyp-build's search: reading package.json and listing
 * directories, about 2 ms.
 */
function loadAddon(root: string): NativeAddon {
  if (!process.env['HULL_PREBUILD'] && !process.env['PREBUILDS_ONLY']) {
    try {
      return require(path.join(root, 'build', 'Release', 'hull.node')) as NativeAddon;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return nodeGypBuild(root) as NativeAddon;
}
