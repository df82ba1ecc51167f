/**
 * The executor's public types: what the agent sends (ExecCommand), what it gets back (ExecExit,
 * TaskResourceUsage), and what it keeps to find the executor again (ReattachConfig).
 */
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
  stats(opts?: { intervalMs?: number }): AsyncIterable<TaskResourceUsage>;
  /** closes this connection; the executor and its task go on */
  disconnect(): void;
}
