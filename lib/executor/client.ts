/**
 * The agent's side: startExecutor() spawns an executor process and connects to it;
 * reattachExecutor() finds one again from its ReattachConfig after the agent restarted, and
 * refuses a pid that is not that executor any more (Nomad #23969).
 *
 * If the executor dies, its task must not run on unsupervised (docs/executor-protocol.md,
 * "Executor death"): the lead process has PR_SET_PDEATHSIG=SIGKILL, and this client, when the
 * socket closes and the executor's pid is dead, destroys the task's cgroups (killing whatever
 * is left) from the paths saved at launch.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { LinuxResources } from '../cgroup';
import { HullError } from '../errors';
import { parseSignal } from '../signals';
import { validateExecCommand } from './command';
import { ClientExecSession, checkTimeout, collectSession, validateExecRequest, type ExecLink } from './exec';
import { isExecutorProcess, procAlive, procCmdline, procStartTime } from './proc';
import {
  EXECUTOR_MARKER,
  FrameDecoder,
  FrameType,
  MAGIC,
  PROTOCOL_VERSION,
  decodeJson,
  encodeJson,
  messageToError,
  type ErrorMessage,
  type Frame,
  type Hello,
} from './protocol';
import type { TickScheduler } from './scheduler';
import type { ExecutorConfig } from './server';
import type {
  ExecCommand,
  ExecExit,
  ExecOnceRequest,
  ExecOnceResult,
  ExecRequest,
  ExecSession,
  Executor,
  ExecutorOptions,
  ExecutorDiagnostics,
  ExecutorVersion,
  Isolation,
  LaunchResult,
  ReattachConfig,
  ShutdownOptions,
  StatsOptions,
  TaskRecord,
  TaskResourceUsage,
} from './types';

/**
 * Node flags of the executor process: one per task, so its footprint matters more than its
 * allocation throughput. A young generation capped at 1 MiB per semi-space (V8 grows it to 16 MiB
 * under allocation, and never gives it back) keeps a busy executor's RSS flat: execs allocate
 * little that lives, and a scavenge of 1 MiB is short.
 */
export const EXECUTOR_NODE_FLAGS = ['--max-semi-space-size=1'];

/** The longest unix socket path (sun_path is 108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

/** hull's own compiled executor: under ts-jest (lib/executor) as after tsc (dist/executor), the package's dist/ build. */
export function executorEntry(): string {
  return path.resolve(__dirname, '../..', 'dist/executor/main.js');
}

export function configPathOf(stateDir: string): string {
  return path.join(stateDir, 'executor.json');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- a queue for streams ----

class AsyncQueue<T> {
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private error: unknown;

  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w.resolve({ value: v, done: false });
    else this.items.push(v);
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  get done(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

// ---- the connection ----

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

async function connectSocket(socketPath: string, timeoutMs: number): Promise<{ sock: net.Socket; decoder: FrameDecoder; hello: Hello; rest: Frame[] }> {
  const sock = net.createConnection(socketPath);
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new HullError(`executor at \`${socketPath}\` did not answer within ${timeoutMs} ms`, { code: 'ETIMEDOUT' })), timeoutMs);
    const done = (err?: unknown, value?: { sock: net.Socket; decoder: FrameDecoder; hello: Hello; rest: Frame[] }): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(value!);
    };
    const onError = (e: NodeJS.ErrnoException): void =>
      done(new HullError(`connect to the executor at \`${socketPath}\`: ${e.code ?? e.message}`, { code: e.code ?? 'ECONNREFUSED', path: socketPath }));
    const onClose = (): void => done(new HullError(`the executor at \`${socketPath}\` closed the connection`, { code: 'ECONNRESET' }));
    const onData = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        done(e);
        return;
      }
      const first = frames.shift();
      if (!first) return;
      if (first.type === FrameType.Error) {
        done(messageToError(decodeJson<ErrorMessage>(first)));
        return;
      }
      const hello = first.type === FrameType.Hello ? decodeJson<Hello>(first) : undefined;
      if (!hello || hello.magic !== MAGIC) {
        done(new HullError(`\`${socketPath}\` is not a hull executor`, { code: 'EPROTO' }));
        return;
      }
      if (hello.protocol !== PROTOCOL_VERSION) {
        done(new HullError(`the executor speaks protocol ${hello.protocol}, this client ${PROTOCOL_VERSION}`, { code: 'EPROTO' }));
        return;
      }
      done(undefined, { sock, decoder, hello, rest: frames });
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
    sock.once('connect', () => sock.write(encodeJson(FrameType.Hello, 0, { magic: MAGIC, protocol: PROTOCOL_VERSION } satisfies Hello)));
  });
}

// ---- cleanup after a dead executor ----

function readRecord(stateDir: string): TaskRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'task.json'), 'utf8')) as TaskRecord;
  } catch {
    return undefined;
  }
}

/** Whether any process is the executor of `stateDir` (whatever its pid): its marker and config path in its command line. */
function executorOfStateDirRuns(stateDir: string): boolean {
  const config = configPathOf(stateDir);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = procCmdline(Number(name));
    const at = argv.indexOf(EXECUTOR_MARKER);
    if (at >= 0 && argv[at + 1] === config && procAlive(Number(name))) return true;
  }
  return false;
}

/**
 * The task of a dead executor: SIGKILL to everything in its cgroups, which are then removed, and
 * its container state removed. Only the task's own cgroups are touched: their paths come from
 * launch (or the executor's task record), never from a pid.
 */
export async function cleanupDeadExecutorTask(stateDir: string, cgroupPaths?: Record<string, string>, id?: string): Promise<void> {
  const rec = readRecord(stateDir);
  const paths = cgroupPaths ?? rec?.cgroupPaths;
  const taskId = id ?? rec?.id;
  if (paths && taskId && Object.keys(paths).length) {
    const { createCgroupManager } = require('../cgroup') as typeof import('../cgroup');
    await createCgroupManager({ id: taskId, paths }).destroy();
  }
  for (const d of ['containers', 'bundle']) fs.rmSync(path.join(stateDir, d), { recursive: true, force: true });
  fs.rmSync(path.join(stateDir, 'executor.sock'), { force: true });
}

// ---- the client ----

class ExecutorClient implements Executor {
  private sock: net.Socket;
  private decoder: FrameDecoder;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, AsyncQueue<TaskResourceUsage>>();
  private readonly execs = new Map<number, ClientExecSession>();
  /** exec streams whose consumer is full: the socket is paused while any is */
  private readonly pausedBy = new Set<number>();
  private readonly link: ExecLink;
  private exit: ExecExit | undefined;
  private waitPromise: Promise<ExecExit> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private lost: Promise<void> | undefined;
  /** set once the connection is gone: every call fails with it */
  private gone: HullError | undefined;
  private intentional = false;
  private cgroupPaths: Record<string, string> | undefined;
  /** stats streams sampled in this process */
  private readonly samplers = new Set<TickScheduler>();
  private launched = false;

  constructor(
    conn: { sock: net.Socket; decoder: FrameDecoder; rest: Frame[] },
    readonly pid: number,
    private readonly startTime: number,
    readonly isolation: Isolation,
    private readonly stateDir: string,
    private readonly id: string,
    private readonly socketPath: string,
  ) {
    this.sock = conn.sock;
    this.decoder = conn.decoder;
    this.link = {
      send: (frame) => this.sock.writable && this.sock.write(frame),
      onDrain: (cb) => {
        if (!this.sock.writableNeedDrain || !this.sock.writable) cb();
        else {
          // the socket may close instead of draining: never leave a writer waiting
          const done = (): void => {
            this.sock.off('drain', done);
            this.sock.off('close', done);
            cb();
          };
          this.sock.on('drain', done);
          this.sock.on('close', done);
        }
      },
      pause: (id) => {
        this.pausedBy.add(id);
        this.sock.pause();
      },
      resume: (id) => {
        if (this.pausedBy.delete(id) && this.pausedBy.size === 0) this.sock.resume();
      },
      signal: async (id, sig) => {
        await this.request('execSignal', { stream: id, signal: sig });
      },
    };
    this.sock.on('data', (chunk: Buffer) => this.onData(chunk));
    this.sock.on('error', () => undefined); // 'close' follows
    this.sock.on('close', () => void this.onClose());
    for (const f of conn.rest) this.onFrame(f);
  }

  get reattachConfig(): ReattachConfig {
    return { protocol: PROTOCOL_VERSION, socket: this.socketPath, pid: this.pid, startTime: this.startTime, stateDir: this.stateDir };
  }

  /** After reattach: what the executor knows of its task. */
  async sync(): Promise<void> {
    const info = (await this.request('info')) as { launched: boolean; cgroupPaths?: Record<string, string>; exit?: ExecExit };
    this.launched = info.launched;
    if (info.cgroupPaths) this.cgroupPaths = info.cgroupPaths;
    if (info.exit) this.exit = info.exit;
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch {
      this.sock.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(f: Frame): void {
    const ex = this.execs.get(f.id);
    if (ex) {
      ex.onFrame(f);
      if (ex.done) this.dropExec(f.id);
      return;
    }
    const stream = this.streams.get(f.id);
    if (stream) {
      if (f.type === FrameType.StreamData) stream.push(decodeJson<TaskResourceUsage>(f));
      else if (f.type === FrameType.StreamClose) stream.end();
      else if (f.type === FrameType.Error) stream.end(messageToError(decodeJson<ErrorMessage>(f)));
      if (stream.done) this.streams.delete(f.id);
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) return;
    this.pending.delete(f.id);
    if (f.type === FrameType.Response) p.resolve(decodeJson(f));
    else if (f.type === FrameType.Error) p.reject(messageToError(decodeJson<ErrorMessage>(f)));
    else p.reject(new HullError(`executor protocol: unexpected frame type ${f.type}`, { code: 'EPROTO' }));
  }

  /** The socket closed. If the executor died, its task must not live on: clean it up (option (a)). */
  private onClose(): Promise<void> {
    this.lost ??= (async () => {
      let err: HullError;
      if (this.intentional) {
        err = new HullError('disconnected from the executor', { code: 'ENOTCONN' });
      } else if (await this.executorDied()) {
        err = new HullError(`the executor (pid ${this.pid}) died; its task was killed and its cgroups removed`, { code: 'EEXECUTORDIED' });
        try {
          await cleanupDeadExecutorTask(this.stateDir, this.cgroupPaths, this.id);
        } catch (e) {
          err = new HullError(`the executor (pid ${this.pid}) died, and cleaning up its task failed: ${(e as Error).message}`, { code: 'EEXECUTORDIED', cause: e });
        }
      } else {
        err = new HullError(`lost the connection to the executor (pid ${this.pid}); it still runs: reattach`, { code: 'ENOTCONN' });
      }
      this.gone = err;
      this.stopSamplers();
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const s of this.streams.values()) s.end(err);
      this.streams.clear();
      for (const id of [...this.execs.keys()]) {
        this.execs.get(id)?.fail(err);
        this.dropExec(id);
      }
    })();
    return this.lost;
  }

  private stopSamplers(): void {
    for (const s of [...this.samplers]) s.stop();
  }

  /** The kernel closes a killed process's fds before it is a zombie: give it a moment to be seen dead. */
  private async executorDied(): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      if (!isExecutorProcess(this.pid, this.startTime)) return true;
      await sleep(10);
    }
    return false;
  }

  private send(frame: Buffer): void {
    if (this.sock.writable) this.sock.write(frame);
  }

  private request(method: string, params?: unknown): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(encodeJson(FrameType.Request, id, { method, ...(params !== undefined ? { params } : {}) }));
    });
  }

  async launch(cmd: ExecCommand): Promise<LaunchResult> {
    try {
      // in the agent first: a command that cannot run never reaches the executor
      validateExecCommand(cmd, this.isolation);
    } catch (e) {
      // and the executor made for it does not stay behind (Nomad #11958)
      if (!this.launched) await this.shutdown().catch(() => undefined);
      throw e;
    }
    // the executor exits by itself after a failed launch
    const r = (await this.request('launch', { command: cmd })) as { pid: number; cgroupPaths: Record<string, string> };
    this.launched = true;
    this.cgroupPaths = r.cgroupPaths;
    return { pid: r.pid };
  }

  wait(): Promise<ExecExit> {
    if (this.exit) return Promise.resolve(this.exit);
    this.waitPromise ??= (this.request('wait') as Promise<ExecExit>).then(
      (e) => (this.exit = e),
      (e: unknown) => {
        this.waitPromise = undefined; // a later call may succeed (after a reattach, say)
        if (this.exit) return this.exit;
        throw e;
      },
    );
    return this.waitPromise;
  }

  async signal(sig: string | number): Promise<void> {
    parseSignal(sig);
    await this.request('signal', { signal: sig });
  }

  shutdown(opts: ShutdownOptions = {}): Promise<void> {
    // an unknown signal is the caller's error, found before anything is sent
    try {
      parseSignal(opts.signal ?? 'SIGINT');
    } catch (e) {
      return Promise.reject(e);
    }
    if (opts.gracePeriodMs !== undefined && !(opts.gracePeriodMs >= 0)) {
      return Promise.reject(new HullError(`gracePeriodMs must be ≥ 0, got ${opts.gracePeriodMs}`, { code: 'EINVALIDARG' }));
    }
    this.shutdownPromise ??= this.doShutdown(opts).catch((e: unknown) => {
      this.shutdownPromise = undefined;
      throw e;
    });
    return this.shutdownPromise;
  }

  private async doShutdown(opts: ShutdownOptions): Promise<void> {
    if (this.gone) {
      // the executor is already gone: its task was (or is now) cleaned up
      if (this.gone.code === 'EEXECUTORDIED' || !isExecutorProcess(this.pid, this.startTime)) {
        await cleanupDeadExecutorTask(this.stateDir, this.cgroupPaths, this.id);
        return;
      }
      throw this.gone;
    }
    this.intentional = true;
    // before the executor removes the cgroups they read; the streams end with the connection
    this.stopSamplers();
    const r = (await this.request('shutdown', { signal: opts.signal ?? 'SIGINT', gracePeriodMs: opts.gracePeriodMs ?? 0 })) as { exit: ExecExit | null };
    if (r?.exit) this.exit = r.exit;
    // the executor exits right after its answer: make sure it is gone
    for (let i = 0; i < 500 && isExecutorProcess(this.pid, this.startTime); i++) await sleep(10);
    this.sock.destroy();
  }

  async updateResources(limits: LinuxResources): Promise<void> {
    await this.request('updateResources', { resources: limits });
  }

  async diagnostics(opts: { gc?: boolean } = {}): Promise<ExecutorDiagnostics> {
    return (await this.request('diagnostics', { gc: opts.gc === true })) as ExecutorDiagnostics;
  }

  async version(): Promise<ExecutorVersion> {
    return (await this.request('version')) as ExecutorVersion;
  }

  stats(opts: StatsOptions = {}): AsyncIterable<TaskResourceUsage> {
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<TaskResourceUsage> => {
        if (this.gone) {
          const err = this.gone;
          return { next: () => Promise.reject(err) };
        }
        if (opts.sampler !== undefined && opts.sampler !== 'agent' && opts.sampler !== 'executor') {
          const err = new HullError(`stats: sampler must be 'agent' or 'executor', got ${String(opts.sampler)}`, { code: 'EINVALIDARG', field: 'sampler' });
          return { next: () => Promise.reject(err) };
        }
        const id = this.nextId++;
        const q = new AsyncQueue<TaskResourceUsage>();
        this.streams.set(id, q);
        const here = opts.sampler !== 'executor' && this.cgroupPaths !== undefined;
        const local = here ? this.sampleHere(id, q, opts.intervalMs) : undefined;
        if (!here) this.send(encodeJson(FrameType.Request, id, { method: 'stats', params: { intervalMs: opts.intervalMs ?? 1000 } }));
        const close = (): void => {
          if (here) local?.stop();
          else if (!q.done && !this.gone) this.send(encodeJson(FrameType.StreamClose, id, undefined));
          q.end();
          this.streams.delete(id);
        };
        return {
          next: () => q.next(),
          return: (): Promise<IteratorResult<TaskResourceUsage>> => {
            close();
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
  }

  /**
   * The stream in this process, on the task's cgroups (see sampler.ts): it stops with the
   * connection, or before a shutdown removes them.
   */
  private sampleHere(id: number, q: AsyncQueue<TaskResourceUsage>, intervalMs: number | undefined): TickScheduler | undefined {
    const { createCgroupManager } = require('../cgroup') as typeof import('../cgroup');
    const { statsStream } = require('./sampler') as typeof import('./sampler');
    let sched: TickScheduler;
    try {
      const cgroup = createCgroupManager({ id: this.id, paths: this.cgroupPaths });
      sched = statsStream(cgroup, intervalMs ?? 1000, {
        sample: (usage) => q.push(usage),
        error: (e) => {
          this.streams.delete(id);
          q.end(e);
        },
        stopped: () => this.samplers.delete(sched),
      });
    } catch (e) {
      this.streams.delete(id);
      q.end(e);
      return undefined;
    }
    this.samplers.add(sched);
    sched.start();
    return sched;
  }

  private dropExec(id: number): void {
    this.execs.delete(id);
    this.link.resume(id);
  }

  async exec(req: ExecRequest): Promise<ExecSession> {
    return this.openExec(req, undefined);
  }

  private openExec(req: ExecRequest, timeoutMs: number | undefined): Promise<ClientExecSession> {
    try {
      validateExecRequest(req);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    const session = new ClientExecSession(id, req.tty === true, this.link);
    // registered before the request goes out: its first frames may follow the answer in one chunk
    this.execs.set(id, session);
    this.send(encodeJson(FrameType.Request, id, { method: 'exec', params: { request: req, ...(timeoutMs !== undefined ? { timeoutMs } : {}) } }));
    return session.started.then(
      () => session,
      (e: unknown) => {
        this.dropExec(id);
        throw e;
      },
    );
  }

  async execOnce(req: ExecOnceRequest): Promise<ExecOnceResult> {
    const { timeoutMs, stdin, ...rest } = req;
    const timeout = checkTimeout(timeoutMs);
    if (stdin !== undefined && typeof stdin !== 'string' && !Buffer.isBuffer(stdin)) {
      throw new HullError('invalid exec request: stdin: must be a string or a Buffer', { code: 'EINVALIDARG', field: 'stdin' });
    }
    // the executor enforces the timeout itself (SIGKILL to the process group), so a slow or busy
    // agent cannot stretch it, and the result is an ordinary StreamExit with timedOut
    const session = await this.openExec(rest, timeout);
    const { stdout, stderr, result } = await collectSession(session, stdin);
    return { stdout, stderr, exitCode: result.exitCode, signal: result.signal, status: result.status, timedOut: result.timedOut === true };
  }

  disconnect(): void {
    this.intentional = true;
    this.sock.destroy();
  }
}

// ---- start and reattach ----

function checkOptions(opts: ExecutorOptions): void {
  if (opts.isolation !== 'isolated' && opts.isolation !== 'universal') {
    throw new HullError(`isolation must be "isolated" or "universal", got ${JSON.stringify(opts.isolation)}`, { code: 'EINVALIDARG', field: 'isolation' });
  }
  if (typeof opts.stateDir !== 'string' || !path.isAbsolute(opts.stateDir)) {
    throw new HullError('stateDir must be an absolute path', { code: 'EINVALIDARG', field: 'stateDir' });
  }
  if (opts.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(opts.id)) {
    throw new HullError(`id \`${opts.id}\` must be letters, digits, \`_\`, \`.\` and \`-\``, { code: 'EINVALIDARG', field: 'id' });
  }
}

function readReady(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<{ ok: boolean; pid?: number; startTime?: number; error?: ErrorMessage } | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (v: ReturnType<typeof JSON.parse> | undefined): void => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      stream.removeAllListeners('end');
      resolve(v);
    };
    stream.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        try {
          finish(JSON.parse(text.slice(0, nl)));
        } catch {
          finish(undefined);
        }
      }
    });
    stream.on('end', () => finish(undefined));
    stream.on('error', () => finish(undefined));
  });
}

/**
 * Spawns an executor: `node <pkg>/dist/executor/main.js --hull-executor <stateDir>/executor.json`,
 * detached in its own session, stdio on /dev/null (it logs to its file), an empty environment, in
 * the agent's cgroups. Resolves once it listens and this client is connected.
 */
export async function startExecutor(opts: ExecutorOptions): Promise<Executor> {
  checkOptions(opts);
  const entry = executorEntry();
  if (!fs.existsSync(entry)) throw new HullError(`hull's executor \`${entry}\` is not built (run tsc)`, { code: 'ENOENT', path: entry });
  const stateDir = path.resolve(opts.stateDir);
  const socket = path.join(stateDir, 'executor.sock');
  if (Buffer.byteLength(socket) > SUN_PATH_MAX) {
    throw new HullError(`the socket path \`${socket}\` is longer than ${SUN_PATH_MAX} bytes: use a shorter stateDir`, { code: 'ENAMETOOLONG', field: 'stateDir' });
  }
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const cfg: ExecutorConfig = {
    isolation: opts.isolation,
    stateDir,
    id: opts.id ?? `hull-exec-${randomBytes(6).toString('hex')}`,
    socket,
    logFile: opts.logFile ?? path.join(stateDir, 'executor.log'),
    logLevel: opts.logLevel ?? 'info',
  };
  const configPath = configPathOf(stateDir);
  fs.writeFileSync(configPath, JSON.stringify(cfg), { mode: 0o600 });
  const child = spawn(process.execPath, [...EXECUTOR_NODE_FLAGS, entry, EXECUTOR_MARKER, configPath], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: '/',
    env: {},
  });
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const ready = await readReady(pipe, timeoutMs);
  pipe.destroy();
  child.unref();
  const pid = child.pid ?? 0;
  if (!ready?.ok || ready.pid !== pid) {
    // ours, just spawned and not reaped: its pid cannot be anyone else's yet
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const why = ready?.error?.message ?? `it did not report ready within ${timeoutMs} ms (see ${cfg.logFile})`;
    throw new HullError(`the executor failed to start: ${why}`, { code: ready?.error?.code ?? 'ECHILDEXIT' });
  }
  let conn;
  try {
    conn = await connectSocket(socket, timeoutMs);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return new ExecutorClient(conn, pid, ready.startTime ?? procStartTime(pid) ?? 0, cfg.isolation, stateDir, cfg.id, socket);
}

/**
 * Validate, start, launch: the command is checked in this process before any executor exists, and
 * an executor whose launch fails exits by itself. Nothing is left behind a command that cannot run.
 */
export async function launchExecutor(opts: ExecutorOptions, cmd: ExecCommand): Promise<{ executor: Executor; pid: number }> {
  checkOptions(opts);
  validateExecCommand(cmd, opts.isolation);
  const executor = await startExecutor(opts);
  const { pid } = await executor.launch(cmd);
  return { executor, pid };
}

function checkReattach(c: ReattachConfig): void {
  const ok =
    c !== null &&
    typeof c === 'object' &&
    Number.isInteger(c.pid) &&
    c.pid > 0 &&
    typeof c.startTime === 'number' &&
    typeof c.socket === 'string' &&
    typeof c.stateDir === 'string' &&
    path.isAbsolute(c.stateDir);
  if (!ok) throw new HullError('invalid reattach config', { code: 'EINVALIDARG' });
  if (c.protocol !== PROTOCOL_VERSION) {
    throw new HullError(`the executor speaks protocol ${String(c.protocol)}, this client ${PROTOCOL_VERSION}`, { code: 'EPROTO' });
  }
}

/**
 * Connects to a running executor from its reattach config. Refuses (ESTALE) when the pid is not
 * that executor any more: another start time, or no executor marker and config in its command
 * line; nothing is ever signalled by pid. When the executor is gone, its task is cleaned up as
 * after an executor death (the task's cgroups from the executor's record), then ESTALE.
 */
export async function reattachExecutor(config: ReattachConfig, opts: { timeoutMs?: number } = {}): Promise<Executor> {
  checkReattach(config);
  const cfgPath = configPathOf(config.stateDir);
  if (!isExecutorProcess(config.pid, config.startTime, cfgPath)) {
    let cleaned = '';
    if (!executorOfStateDirRuns(config.stateDir) && readRecord(config.stateDir)) {
      await cleanupDeadExecutorTask(config.stateDir);
      cleaned = '; its task was cleaned up';
    }
    throw new HullError(`pid ${config.pid} is not the executor of \`${config.stateDir}\` (it exited, or the pid was reused): refusing to reattach${cleaned}`, {
      code: 'ESTALE',
    });
  }
  let cfg: ExecutorConfig;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as ExecutorConfig;
  } catch (e) {
    throw new HullError(`read the executor config \`${cfgPath}\`: ${(e as Error).message}`, { code: 'ENOENT', path: cfgPath });
  }
  const conn = await connectSocket(config.socket, opts.timeoutMs ?? 5000);
  if (conn.hello.pid !== config.pid || conn.hello.startTime !== config.startTime) {
    conn.sock.destroy();
    throw new HullError(`the executor on \`${config.socket}\` is pid ${String(conn.hello.pid)}, not ${config.pid}: refusing to reattach`, { code: 'ESTALE' });
  }
  const client = new ExecutorClient(conn, config.pid, config.startTime, cfg.isolation, config.stateDir, cfg.id, config.socket);
  await client.sync();
  return client;
}
