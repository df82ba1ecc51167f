/**
 * The executor process: serves one task over a unix socket (docs/executor-protocol.md). Started
 * by startExecutor() as `node <pkg>/dist/executor/main.js --hull-executor <config.json>`, in its
 * own session, in the agent's cgroups (it never joins the task's), logging only to its file.
 *
 * It does nothing periodic unless a stats stream is open: the task's exit comes from its pidfd,
 * its output from the fifo, requests from the socket.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { LinuxResources } from '../cgroup';
import { HullError } from '../errors';
import type { ExitStatus } from '../native';
import { exitStatusCode, parseSignal } from '../signals';
import { validateExecCommand } from './command';
import { openTaskOutput, type TaskOutput } from './output';
import { procStartTime } from './proc';
import {
  Channel,
  FrameDecoder,
  FrameType,
  MAGIC,
  PROTOCOL_VERSION,
  decodeJson,
  encodeJson,
  errorToMessage,
  type Frame,
  type Hello,
  type RequestMessage,
} from './protocol';
import type { ServerExec } from './exec-server';
import type { TickScheduler } from './scheduler';
import type { LaunchContext, RunningTask } from './task';
import type { ExecCommand, ExecExit, ExecutorDiagnostics, Isolation, TaskRecord } from './types';

/** `<stateDir>/executor.json`, written by the agent before it starts the executor. */
export interface ExecutorConfig {
  isolation: Isolation;
  stateDir: string;
  id: string;
  socket: string;
  logFile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** JSON lines, written synchronously: a log line is on disk even if the executor is killed right after. */
class Logger {
  private fd: number;
  constructor(
    file: string,
    private readonly min: Level,
  ) {
    this.fd = fs.openSync(file, 'a', 0o600);
  }
  log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS[level] < LEVELS[this.min] || this.fd < 0) return;
    try {
      fs.writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), level, pid: process.pid, msg, ...fields })}\n`);
    } catch {
      // nowhere left to tell
    }
  }
}

function exitOf(s: ExitStatus, oomKilled: boolean): ExecExit {
  return { exitCode: s.signal !== null ? null : s.exitCode, signal: s.signal, oomKilled, status: exitStatusCode(s) };
}

interface Conn {
  sock: net.Socket;
  hello: boolean;
  streams: Map<number, TickScheduler>;
  execs: Map<number, ServerExec>;
  /** the last write returned false and 'drain' has not come: exec output is paused */
  congested: boolean;
  /** exec streams whose process's stdin is full: the connection is not read while any is */
  inputBlocked: Set<number>;
}

export class ExecutorServer {
  readonly log: Logger;
  private server: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private task: RunningTask | undefined;
  private launching = false;
  private outputs: TaskOutput[] = [];
  private exit: ExecExit | undefined;
  private exitPromise: Promise<ExecExit> | undefined;
  private shutdownPromise: Promise<ExecExit | null> | undefined;
  private oomBaseline = 0;
  readonly startTime = procStartTime(process.pid) ?? 0;

  constructor(private readonly cfg: ExecutorConfig) {
    this.log = new Logger(cfg.logFile, cfg.logLevel);
  }

  /** Listens on the socket; resolves once connections are accepted. */
  async listen(): Promise<void> {
    fs.rmSync(this.cfg.socket, { force: true });
    const server = net.createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.cfg.socket, 0o600);
    server.on('error', (e) => this.log.log('error', 'socket server error', { error: String(e) }));
    this.log.log('info', 'executor listening', { socket: this.cfg.socket, isolation: this.cfg.isolation, id: this.cfg.id });
  }

  // ---- connections ----

  private accept(sock: net.Socket): void {
    const conn: Conn = { sock, hello: false, streams: new Map(), execs: new Map(), congested: false, inputBlocked: new Set() };
    sock.on('drain', () => {
      conn.congested = false;
      for (const e of conn.execs.values()) e.resumeOutput();
    });
    this.conns.add(conn);
    const decoder = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.log.log('warn', 'protocol error, closing the connection', { error: String(e) });
        sock.destroy();
        return;
      }
      for (const f of frames) this.onFrame(conn, f);
    });
    // the agent may die at any time: a write to its socket must never take the executor down
    sock.on('error', (e) => this.log.log('debug', 'connection error', { error: String(e) }));
    sock.on('close', () => {
      for (const s of conn.streams.values()) s.stop();
      conn.streams.clear();
      // nobody is left to see these processes: they are killed (and reaped)
      for (const e of conn.execs.values()) e.abort();
      if (conn.execs.size) this.log.log('info', 'connection closed: its exec processes were killed', { count: conn.execs.size });
      conn.execs.clear();
      this.conns.delete(conn);
      this.log.log('debug', 'connection closed');
    });
  }

  /** false when the socket is congested (exec output then pauses until 'drain') */
  private send(conn: Conn, frame: Buffer, cb?: () => void): boolean {
    if (conn.sock.destroyed || !conn.sock.writable) {
      cb?.();
      return true;
    }
    const ok = conn.sock.write(frame, cb ? () => cb() : undefined);
    if (!ok && !conn.congested) {
      conn.congested = true;
      for (const e of conn.execs.values()) e.pauseOutput();
    }
    return ok;
  }

  private reply(conn: Conn, id: number, result: unknown): void {
    this.send(conn, encodeJson(FrameType.Response, id, result));
  }

  private fail(conn: Conn, id: number, e: unknown): void {
    this.send(conn, encodeJson(FrameType.Error, id, errorToMessage(e)));
  }

  private onFrame(conn: Conn, f: Frame): void {
    if (!conn.hello) {
      this.onHello(conn, f);
      return;
    }
    switch (f.type) {
      case FrameType.Request: {
        let req: RequestMessage;
        try {
          req = decodeJson<RequestMessage>(f);
        } catch (e) {
          this.fail(conn, f.id, e);
          return;
        }
        this.dispatch(conn, f.id, req).catch((e: unknown) => this.fail(conn, f.id, e));
        return;
      }
      case FrameType.StreamData:
      case FrameType.StreamResize:
      case FrameType.StreamClose: {
        const ex = conn.execs.get(f.id);
        if (ex) {
          try {
            ex.onFrame(f);
          } catch (e) {
            this.fail(conn, f.id, e);
          }
          return;
        }
        if (f.type !== FrameType.StreamClose) {
          // data for a stream that has ended (or never was): dropped, as a closed pipe drops it
          this.log.log('debug', 'frame for no open stream', { type: f.type, stream: f.id });
          return;
        }
        const s = conn.streams.get(f.id);
        if (s) {
          s.stop();
          conn.streams.delete(f.id);
          this.send(conn, encodeJson(FrameType.StreamClose, f.id, undefined));
        }
        return;
      }
      default:
        this.fail(conn, f.id, new HullError(`frame type ${f.type} is not served by this executor`, { code: 'EPROTO' }));
    }
  }

  private onHello(conn: Conn, f: Frame): void {
    let hello: Hello | undefined;
    try {
      hello = f.type === FrameType.Hello ? decodeJson<Hello>(f) : undefined;
    } catch {
      hello = undefined;
    }
    if (!hello || hello.magic !== MAGIC || hello.protocol !== PROTOCOL_VERSION) {
      const why = !hello ? 'the first frame must be a hello' : `protocol ${String(hello.protocol)} is not ${PROTOCOL_VERSION}`;
      this.send(conn, encodeJson(FrameType.Error, 0, errorToMessage(new HullError(`executor: ${why}`, { code: 'EPROTO' }))), () => conn.sock.end());
      return;
    }
    conn.hello = true;
    const mine: Hello = { magic: MAGIC, protocol: PROTOCOL_VERSION, pid: process.pid, startTime: this.startTime, isolation: this.cfg.isolation };
    this.send(conn, encodeJson(FrameType.Hello, 0, mine));
  }

  private async dispatch(conn: Conn, id: number, req: RequestMessage): Promise<void> {
    const p = (req.params ?? {}) as Record<string, unknown>;
    switch (req.method) {
      case 'launch':
        this.reply(conn, id, await this.launch(p.command));
        return;
      case 'info':
        this.reply(conn, id, this.info());
        return;
      case 'wait':
        this.reply(conn, id, await this.waitExit());
        return;
      case 'signal':
        this.signal(p.signal as string | number);
        this.reply(conn, id, null);
        return;
      case 'shutdown': {
        const exit = await this.shutdown(p.signal as string | number | undefined, p.gracePeriodMs);
        // answer, then go: the agent sees the reply before the socket closes
        this.send(conn, encodeJson(FrameType.Response, id, { exit }), () => this.exitProcess(0));
        return;
      }
      case 'updateResources':
        this.updateResources(p.resources as LinuxResources);
        this.reply(conn, id, null);
        return;
      case 'version':
        this.reply(conn, id, { version: packageVersion(), protocol: PROTOCOL_VERSION });
        return;
      case 'stats':
        await this.openStats(conn, id, p.intervalMs);
        return;
      case 'exec':
        await this.openExec(conn, id, p.request, p.timeoutMs);
        return;
      case 'diagnostics':
        this.reply(conn, id, this.diagnostics(p.gc === true));
        return;
      case 'execSignal': {
        const ex = conn.execs.get(Number(p.stream));
        const n = parseSignal(p.signal as string | number);
        if (!ex) throw new HullError(`no exec stream ${String(p.stream)} on this connection`, { code: 'ESRCH' });
        ex.signal(n);
        this.reply(conn, id, null);
        return;
      }
      default:
        throw new HullError(`unknown method \`${req.method}\``, { code: 'EINVALIDARG' });
    }
  }

  // ---- the task ----

  private info(): { launched: boolean; pid?: number; startTime?: number; cgroupPaths?: Record<string, string>; exit?: ExecExit } {
    if (!this.task) return { launched: false };
    return {
      launched: true,
      pid: this.task.pid,
      startTime: this.task.startTime,
      cgroupPaths: this.task.cgroup.paths(),
      ...(this.exit ? { exit: this.exit } : {}),
    };
  }

  private async launch(command: unknown): Promise<{ pid: number; startTime: number; cgroupPaths: Record<string, string> }> {
    if (this.task || this.launching) throw new HullError('a task was already launched by this executor', { code: 'ESTATE' });
    if (this.shutdownPromise) throw new HullError('the executor is shutting down', { code: 'ESTATE' });
    this.launching = true;
    try {
      const cmd = validateExecCommand(command, this.cfg.isolation);
      const task = await this.start(cmd);
      this.task = task;
      this.log.log('info', 'task launched', { taskPid: task.pid, cmd: cmd.cmd, cgroups: task.cgroup.paths() });
      this.writeRecord(task);
      this.exitPromise = task.exited.then((s) => {
        this.exit = exitOf(s, this.oomKilled());
        this.log.log('info', 'task exited', { ...this.exit });
        return this.exit;
      });
      this.exitPromise.catch((e: unknown) => this.log.log('error', 'waiting for the task failed', { error: String(e) }));
      return { pid: task.pid, startTime: task.startTime, cgroupPaths: task.cgroup.paths() };
    } catch (e) {
      // no executor stays behind a task that could not start (Nomad #11958): answer, then exit
      this.log.log('error', 'launch failed; the executor exits', { error: String(e) });
      for (const o of this.outputs) o.close();
      setImmediate(() => this.exitProcess(1));
      throw e;
    } finally {
      this.launching = false;
    }
  }

  private async start(cmd: ExecCommand): Promise<RunningTask> {
    const onError = (e: unknown): void => this.log.log('warn', 'task output', { error: String(e) });
    const out = openTaskOutput(cmd.stdout, cmd.logRotation, path.join(this.cfg.stateDir, 'stdout.fifo'), onError);
    this.outputs.push(out);
    const err = openTaskOutput(cmd.stderr, cmd.logRotation, path.join(this.cfg.stateDir, 'stderr.fifo'), onError);
    this.outputs.push(err);
    const ctx: LaunchContext = { id: this.cfg.id, stateDir: this.cfg.stateDir, log: (l, m, f) => this.log.log(l, m, f) };
    try {
      // each mode's code is loaded only by executors of that mode
      const task =
        this.cfg.isolation === 'isolated'
          ? await (require('./isolated') as typeof import('./isolated')).launchIsolated(cmd, ctx, [out, err])
          : await (require('./universal') as typeof import('./universal')).launchUniversal(cmd, ctx, [out, err]);
      try {
        this.oomBaseline = task.cgroup.oomKillCount();
      } catch {
        this.oomBaseline = 0;
      }
      return task;
    } finally {
      // the task has its copies: EOF comes when the last of its processes closes them
      out.releaseWriteEnd();
      err.releaseWriteEnd();
    }
  }

  private oomKilled(): boolean {
    try {
      return (this.task?.cgroup.oomKillCount() ?? 0) > this.oomBaseline;
    } catch {
      return false;
    }
  }

  private writeRecord(task: RunningTask): void {
    const rec: TaskRecord = {
      id: this.cfg.id,
      isolation: this.cfg.isolation,
      pid: task.pid,
      startTime: task.startTime,
      cgroupPaths: task.cgroup.paths(),
      ...(this.cfg.isolation === 'isolated' ? { containerRoot: path.join(this.cfg.stateDir, 'containers') } : {}),
    };
    const file = path.join(this.cfg.stateDir, 'task.json');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(rec), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }

  private requireTask(): RunningTask {
    if (!this.task) throw new HullError('no task was launched yet', { code: 'ESTATE' });
    return this.task;
  }

  private waitExit(): Promise<ExecExit> {
    this.requireTask();
    return this.exitPromise as Promise<ExecExit>;
  }

  private signal(sig: string | number): void {
    const n = parseSignal(sig);
    const task = this.requireTask();
    if (this.exit) throw new HullError('the task has exited', { code: 'ESRCH' });
    task.signal(n);
  }

  private updateResources(r: LinuxResources): void {
    this.requireTask().cgroup.apply(r ?? {});
  }

  /** signal, grace, then SIGKILL of every process and the cgroups removed. Idempotent. */
  shutdown(signal: string | number | undefined, graceMs: unknown): Promise<ExecExit | null> {
    const sig = parseSignal(signal ?? 'SIGINT');
    const grace = graceMs === undefined ? 0 : Number(graceMs);
    if (!Number.isFinite(grace) || grace < 0) throw new HullError(`gracePeriodMs must be ≥ 0, got ${String(graceMs)}`, { code: 'EINVALIDARG' });
    this.shutdownPromise ??= this.doShutdown(sig, grace);
    return this.shutdownPromise;
  }

  private async doShutdown(sig: number, grace: number): Promise<ExecExit | null> {
    for (const c of this.conns) for (const s of c.streams.values()) s.stop();
    for (const c of this.conns) for (const e of c.execs.values()) e.kill();
    const task = this.task;
    if (!task) return null;
    this.log.log('info', 'shutdown', { signal: sig, gracePeriodMs: grace });
    if (!this.exit && grace > 0) {
      try {
        task.signal(sig);
      } catch (e) {
        this.log.log('debug', 'shutdown signal', { error: String(e) });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exitPromise, new Promise<void>((r) => (timer = setTimeout(r, grace)))]);
      clearTimeout(timer);
    }
    // every process of the task, the lead first if it still runs, then the cgroups
    await task.destroy();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.exitPromise as Promise<ExecExit>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HullError('the task did not exit within 15 s of SIGKILL', { code: 'ETIMEDOUT' })), 15_000);
      }),
    ]).finally(() => clearTimeout(timer));
    // the output pumps: whatever is still buffered in the fifos, then EOF (everyone is dead)
    await Promise.race([Promise.all(this.outputs.map((o) => o.done)), new Promise((r) => setTimeout(r, 1000))]);
    for (const o of this.outputs) o.close();
    return exit;
  }

  /** SIGTERM/SIGINT to the executor: the task goes with it (option (a) of the spec, by design). */
  async terminate(reason: string): Promise<void> {
    this.log.log('info', `${reason}: shutting the task down`);
    try {
      await this.shutdown('SIGKILL', 0);
    } catch (e) {
      this.log.log('error', 'shutdown failed', { error: String(e) });
    }
    this.exitProcess(0);
  }

  exitProcess(code: number): void {
    try {
      this.server?.close();
      fs.rmSync(this.cfg.socket, { force: true });
    } catch {
      // best effort
    }
    this.log.log('info', 'executor exits', { code });
    process.exit(code);
  }

  /** The executor's own footprint; `gc` runs a full garbage collection first (a settle, for leak checks). */
  private diagnostics(gc: boolean): ExecutorDiagnostics {
    if (gc) {
      const v8 = require('node:v8') as typeof import('node:v8');
      const vm = require('node:vm') as typeof import('node:vm');
      v8.setFlagsFromString('--expose-gc');
      (vm.runInNewContext('gc') as () => void)();
    }
    const mem = process.memoryUsage();
    let fds = -1;
    try {
      fds = fs.readdirSync('/proc/self/fd').length - 1; // minus the directory's own fd
    } catch {
      // no /proc
    }
    let execs = 0;
    for (const c of this.conns) execs += c.execs.size;
    return { rss: mem.rss, heapUsed: mem.heapUsed, fds, connections: this.conns.size, execs };
  }

  // ---- exec ----

  private async openExec(conn: Conn, id: number, request: unknown, timeoutMs: unknown): Promise<void> {
    const { validateExecRequest, checkTimeout } = require('./exec') as typeof import('./exec');
    const { ServerExec } = require('./exec-server') as typeof import('./exec-server');
    const task = this.requireTask();
    if (this.exit) throw new HullError('cannot exec: the task has exited', { code: 'ESTATE' });
    if (this.shutdownPromise) throw new HullError('cannot exec: the executor is shutting down', { code: 'ESTATE' });
    if (conn.execs.has(id) || conn.streams.has(id)) throw new HullError(`stream id ${id} is in use`, { code: 'EPROTO' });
    const req = validateExecRequest(request);
    const timeout = checkTimeout(timeoutMs);
    const ex = new ServerExec(id, task, req, timeout, {
      send: (frame) => this.send(conn, frame),
      get congested() {
        return conn.congested;
      },
      blockInput: (sid, blocked) => {
        if (blocked) {
          conn.inputBlocked.add(sid);
          conn.sock.pause();
        } else if (conn.inputBlocked.delete(sid) && conn.inputBlocked.size === 0) {
          conn.sock.resume();
        }
      },
      finished: (sid) => {
        conn.execs.delete(sid);
        this.log.log('debug', 'exec stream closed', { stream: sid });
      },
      log: (l, m, f) => this.log.log(l, m, f),
    });
    const pid = await ex.start();
    if (conn.sock.destroyed || this.shutdownPromise) {
      ex.abort();
      throw new HullError('the connection closed while the exec started', { code: 'ECONNRESET' });
    }
    conn.execs.set(id, ex);
    this.log.log('info', 'exec started', { stream: id, pid, cmd: req.cmd, tty: req.tty === true });
    this.reply(conn, id, { pid });
    ex.begin();
  }

  // ---- stats ----

  private async openStats(conn: Conn, id: number, intervalMs: unknown): Promise<void> {
    const task = this.requireTask();
    const { statsStream } = require('./sampler') as typeof import('./sampler');
    const sched = statsStream(task.cgroup, intervalMs, {
      sample: (usage) => this.send(conn, encodeJson(FrameType.StreamData, id, usage, Channel.Json)),
      // a collection error ends the stream (the cgroup went away with the task)
      error: (e) => {
        conn.streams.delete(id);
        this.send(conn, encodeJson(FrameType.Error, id, errorToMessage(e)));
      },
      stopped: () => this.log.log('debug', 'stats stream closed', { stream: id }),
    });
    conn.streams.set(id, sched);
    this.log.log('debug', 'stats stream opened', { stream: id, intervalMs: sched.intervalMs });
    sched.start();
  }
}

let versionCache: string | undefined;
function packageVersion(): string {
  if (versionCache === undefined) {
    try {
      versionCache = (JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
    } catch {
      versionCache = '0.0.0';
    }
  }
  return versionCache;
}

/** The executor's main: everything the process does, from its config file. */
export async function runExecutor(configPath: string): Promise<void> {
  const readyFd = 3;
  const ready = (msg: unknown): void => {
    try {
      fs.writeSync(readyFd, `${JSON.stringify(msg)}\n`);
      fs.closeSync(readyFd);
    } catch {
      // the agent is gone: nobody to tell
    }
  };
  // the agent's death must not kill us: no SIGPIPE (Nomad #5593, #27815), no SIGHUP
  process.on('SIGPIPE', () => undefined);
  process.on('SIGHUP', () => undefined);
  let server: ExecutorServer;
  try {
    const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8')) as ExecutorConfig;
    process.chdir('/');
    server = new ExecutorServer(cfg);
    await server.listen();
  } catch (e) {
    ready({ ok: false, error: errorToMessage(e) });
    process.exit(1);
  }
  process.on('SIGTERM', () => void server.terminate('SIGTERM'));
  process.on('SIGINT', () => void server.terminate('SIGINT'));
  process.on('uncaughtException', (e) => {
    // the task dies with us (pdeathsig), the agent cleans up its cgroups
    server.log.log('error', 'uncaught exception: the executor exits', { error: String(e?.stack ?? e) });
    process.exit(70);
  });
  ready({ ok: true, pid: process.pid, startTime: server.startTime });
}
