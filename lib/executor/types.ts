/**
 * The executor's public types: what the agent sends (ExecCommand), what it gets back (ExecExit,
 * TaskResourceUsage), and what it keeps to find the executor again (ReattachConfig).
 */
import type { Readable, Writable } from 'node:stream';
import type { CgroupStats, LinuxResources } from '../cgroup';
import type { TaskVolume } from '../task/volumes';

/** `isolated`: an OCI container on the host's read-only system dirs; `universal`: a plain process. */
export type Isolation = 'isolated' | 'universal';

/** A user given by ids. `additionalGids` is set exactly as given (an empty list means none). */
export interface ExecUserIds {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** A name (`nobody`), a numeric uid as a string (`65534`), or ids. Names are looked up in /etc/passwd and /etc/group. */
export type ExecUser = string | ExecUserIds;

/** A host device made visible in an isolated task (Nomad's DeviceConfig). */
export interface ExecDevice {
  /** the device node on the host */
  hostPath: string;
  /** where it appears in the task; default: hostPath */
  taskPath?: string;
  /** cgroup access, a subset of `rwm`; default `rwm` */
  permissions?: string;
}

/** Nomad's allow_caps / cap_add / cap_drop, by name (`net_raw`, `CAP_NET_RAW`). */
export interface ExecCapabilities {
  allow?: string[];
  capAdd?: string[];
  capDrop?: string[];
}

export type NamespaceMode = 'private' | 'host';

/** Rotation of the task's log files (Nomad's logmon). */
export interface LogRotation {
  /** how many files to keep per stream, default 10 */
  maxFiles?: number;
  /** size at which a file is rotated, default 10 (MiB) */
  maxFileSizeMB?: number;
}

/**
 * The task to run. EVERY field travels to the executor as is (see EXEC_COMMAND_FIELDS in
 * command.ts, which both sides check): an unknown field is an error, never dropped.
 */
export interface ExecCommand {
  /** the program: a name looked up in `<taskDir>/local`, `<taskDir>`, then the task's PATH; or a path */
  cmd: string;
  args?: string[];
  /** the task's complete environment as `KEY=value`: nothing is inherited from the executor */
  env?: string[];
  /** default: root (uid 0, gid 0, no supplementary groups) */
  user?: ExecUser;
  /** host path of the task directory: the working directory (universal) or `/task` in the task (isolated) */
  taskDir: string;
  resources?: LinuxResources;
  /** task volumes (isolated only) */
  mounts?: TaskVolume[];
  /** host devices (isolated only) */
  devices?: ExecDevice[];
  capabilities?: ExecCapabilities;
  /** a network namespace to join, e.g. /var/run/netns/x; default: the host's network */
  networkNamespace?: string;
  /** isolated default `private`; universal supports only `host` */
  pidMode?: NamespaceMode;
  ipcMode?: NamespaceMode;
  /** base path of the task's stdout log: files `<stdout>.0`, `.1`, ...; absent: discarded */
  stdout?: string;
  stderr?: string;
  logRotation?: LogRotation;
  /** not supported yet (EUNSUPPORTED): exec with a TTY is another issue */
  tty?: boolean;
  /** no_new_privs for the task: on unless set to false, so a setuid binary cannot raise privileges */
  noNewPrivileges?: boolean;
}

export interface ExecutorOptions {
  isolation: Isolation;
  /** the executor's own directory: socket, config, task record, container state; created 0700 */
  stateDir: string;
  /** the task's name: its cgroups are `hull/<id>` below the agent's cgroup; default `hull-exec-<random>` */
  id?: string;
  /** where the executor logs (JSON lines); default `<stateDir>/executor.log` */
  logFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** how long startExecutor waits for the executor to listen, default 10000 ms */
  startTimeoutMs?: number;
}

/** The lead process's end. */
export interface ExecExit {
  /** the code of a normal exit; null when killed by a signal */
  exitCode: number | null;
  signal: number | null;
  /** the kernel OOM-killed a process of the task's memory cgroup */
  oomKilled: boolean;
  /** the shell's view: the exit code, or 128+N for death by signal N */
  status: number;
}

export interface ShutdownOptions {
  /** sent first to the lead process; default SIGINT */
  signal?: string | number;
  /** how long to let the task exit on its own before SIGKILL of every process; default 0 (at once) */
  gracePeriodMs?: number;
}

/** One stats sample of the task. */
export interface TaskResourceUsage {
  /** the cgroup sample; zeros are real only for the fields in `stats.measured` */
  stats: CgroupStats;
  /** CPU use since the previous sample of this stream, in percent of one core (100 = one core); 0 on the first */
  cpuPercent: number;
  /** when the sample was taken, ms since the epoch */
  timestamp: number;
  /** the task's processes (every pid of its cgroups) */
  pids: number[];
}

export interface ExecutorVersion {
  /** the executor's implementation version (hull's package version) */
  version: string;
  protocol: number;
}

/** The executor process's own footprint (`diagnostics`). */
export interface ExecutorDiagnostics {
  /** bytes, process.memoryUsage() */
  rss: number;
  heapUsed: number;
  /** open fds of the executor process */
  fds: number;
  connections: number;
  /** exec streams open over every connection */
  execs: number;
}

/** What the agent saves to find the executor again after it restarts. */
export interface ReattachConfig {
  protocol: number;
  socket: string;
  pid: number;
  /** field 22 of /proc/<pid>/stat: with the pid, the executor's identity */
  startTime: number;
  stateDir: string;
}

export interface LaunchResult {
  pid: number;
}

/** The executor's task record (`<stateDir>/task.json`), written at launch. */
export interface TaskRecord {
  id: string;
  isolation: Isolation;
  pid: number;
  startTime: number;
  cgroupPaths: Record<string, string>;
  /** the container state root (isolated) */
  containerRoot?: string;
}

/**
 * A process to run in the task (`executor.exec`), Nomad's ExecTaskStreaming. Every field absent
 * takes the task's own: its user (and so its capabilities), environment and working directory.
 */
export interface ExecRequest {
  /** the program: a path, or a name looked up as the task's command is (universal) or in the task's PATH (isolated) */
  cmd: string;
  args?: string[];
  /** the complete environment as `KEY=value`; default: the task's */
  env?: string[];
  /** default: the task directory (universal) or the container's cwd, `/task` (isolated) */
  cwd?: string;
  /** default: the task's user; capabilities follow the task's rules for this user */
  user?: ExecUser;
  /** a terminal: stderr is merged into stdout (CRLF line endings), resize() works */
  tty?: boolean;
  /** the terminal's size before the process starts; default 80×24 */
  cols?: number;
  rows?: number;
}

export interface ExecOnceRequest extends ExecRequest {
  /** SIGKILL to the process (its process group) after this long; the result says `timedOut` */
  timeoutMs?: number;
  /** written to the process's stdin, which is then closed (default: closed at once) */
  stdin?: string | Buffer;
}

/** How an exec'd process ended. */
export interface ExecResult {
  /** null when killed by a signal */
  exitCode: number | null;
  signal: number | null;
  /** the exit code, or 128+N for signal N */
  status: number;
  /** killed because its timeoutMs (execOnce) ran out */
  timedOut?: boolean;
}

export interface ExecOnceResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: number | null;
  status: number;
  /** the timeout killed it (SIGKILL): signal 9, status 137 */
  timedOut: boolean;
}

/** A running exec'd process, as streams. */
export interface ExecSession {
  /** its pid, as the host sees it */
  readonly pid: number;
  readonly tty: boolean;
  /** to the process; end() closes its stdin (with a tty: a ^D, the terminal's EOF) */
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** with a tty, stderr is merged into stdout and this ends empty */
  readonly stderr: Readable;
  /** the terminal's size (TIOCSWINSZ); without a tty: an EINVALIDARG error naming it */
  resize(cols: number, rows: number): void;
  /** to the exec'd process only; an unknown signal name is an error */
  signal(sig: string | number): Promise<void>;
  /** the lead process's end; with a tty, a background child keeping the terminal open does not delay it */
  readonly exited: Promise<ExecResult>;
}

export interface StatsOptions {
  /** ms between samples, at least 10; 0 or absent: 1000 */
  intervalMs?: number;
  /** who reads the cgroups: this process (the default, once the task is launched) or the executor */
  sampler?: 'agent' | 'executor';
}

export interface Executor {
  readonly pid: number;
  readonly isolation: Isolation;
  readonly reattachConfig: ReattachConfig;
  launch(cmd: ExecCommand): Promise<LaunchResult>;
  wait(): Promise<ExecExit>;
  signal(sig: string | number): Promise<void>;
  shutdown(opts?: ShutdownOptions): Promise<void>;
  updateResources(limits: LinuxResources): Promise<void>;
  version(): Promise<ExecutorVersion>;
  /**
   * A sample at once, then one every `intervalMs` (default 1 s) until the loop breaks. The agent
   * reads the task's cgroups itself once it knows them (after launch or reattach); `sampler:
   * 'executor'` asks the executor to sample and send instead.
   */
  stats(opts?: StatsOptions): AsyncIterable<TaskResourceUsage>;
  /** a process in the running task, streamed (docs/executor-protocol.md, "Exec") */
  exec(req: ExecRequest): Promise<ExecSession>;
  /** a process in the running task, its output collected; a timeout kills it and resolves with timedOut */
  execOnce(req: ExecOnceRequest): Promise<ExecOnceResult>;
  /** the executor's footprint; `gc: true` runs a full garbage collection first (for leak checks) */
  diagnostics(opts?: { gc?: boolean }): Promise<ExecutorDiagnostics>;
  /** closes this connection; the executor and its task go on */
  disconnect(): void;
}
