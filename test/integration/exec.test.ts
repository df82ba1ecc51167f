/**
 * exec into a running container, through the library (lib/container/exec.ts) and the CLI
 * (`hull exec`, as by hand and as conmon and containerd call it): Nomad's exec conformance cases
 * for an isolated task (stdio with and without a tty, resize, stdin and EOF, exit codes, where
 * files go, cgroups, namespaces, capabilities and user), detached execs, the refusals, the
 * CVE-2019-5736 guard of a held exec, and that 200 execs leak neither fds nor children.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container } from '../../lib/container/container';
import { exec, type ExecOptions } from '../../lib/container/exec';
import { defaultRuntime, type Runtime } from '../../lib/container/runtime';
import { PtyStream } from '../../lib/io/pty-stream';
import { native, type ExitStatus } from '../../lib/native';
import type { Process, Spec } from '../../lib/oci/schema';
import { exitStatusCode } from '../../lib/signals';
import {
  HULL_BIN,
  type HullResult,
  alive,
  childrenOf,
  describeContainers,
  killAll,
  ok,
  pidsInCgroupsNamed,
  procStatus,
  waitFor,
  waitForExec,
} from '../helpers/host';
import { DEFAULT_CAP_HEX } from '../helpers/parse';
import { ConsoleReceiver, TermOutput, destroyStreams, fdCount } from '../helpers/recvtty';
import { type Bundle, type TempDir, addApplets } from '../helpers/rootfs';
import { type Io, captureIo as captureIoAt, containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'pid_for_children', 'uts', 'user', 'time'];

interface Execd {
  pid: number;
  pidfd: number;
  exited: Promise<ExitStatus & { status: number }>;
}

interface Running {
  id: string;
  pid: number;
  bundle: Bundle;
  c: Container;
}

let rt: Runtime;
let execd: Execd[] = [];
let streams: PtyStream[] = [];
let receivers: ConsoleReceiver[] = [];
/** host pids of detached execs (not our children): killed after */
let detached: number[] = [];
let scratch: TempDir;

const suite = containerSuite({
  removeWith: 'cli',
  // what the test holds of its containers (terminals, exec'd processes), before the containers go
  release: async () => {
    await destroyStreams(streams);
    for (const r of receivers) r.close();
    for (const e of execd) {
      try {
        rt.sys.signal(e.pidfd, 9);
      } catch {
        // exited
      }
      await e.exited.catch(() => undefined);
      rt.sys.close(e.pidfd);
    }
    killAll(detached);
    execd = [];
    streams = [];
    receivers = [];
    detached = [];
  },
});

beforeEach(() => {
  scratch = suite.dir('exec');
  rt = defaultRuntime(suite.root.dir);
});

function cli(args: string[]): HullResult {
  return suite.cli(args);
}

let seq = 0;
function scratchFile(name: string): string {
  return path.join(scratch.dir, `${seq++}-${name}`);
}

/** Files for a process's stdio: stdin /dev/null unless given, stdout and stderr captured. */
function captureIo(stdin?: number): Io {
  return captureIoAt(scratchFile('out'), scratchFile('err'), stdin);
}

/** A fifo as a pipe: the read end for the process, the write end for the test. */
function fifoPipe(): { read: number; write: number } {
  const p = scratchFile('fifo');
  native().mkfifo(p, 0o600);
  const read = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const write = fs.openSync(p, fs.constants.O_WRONLY);
  return { read, write };
}

/** A running container whose init runs `args` (default: sleep), created by this process. */
async function running(args: string[] = ['sleep', '1000'], edit?: (s: Spec) => void, waitExec = true): Promise<Running> {
  const { c, id, bundle } = await suite.create(args, { edit, tag: 'exec', prepare: (b) => addApplets(b, ['tty', 'stty']) });
  c.start();
  if (waitExec) await waitForExec(c.pid, args);
  return { id, pid: c.pid, bundle, c };
}

function baseProcess(id: string): Process {
  return rt.store.readConfig(id).process!;
}

/** Library exec; the process is reaped by the test whatever happens. */
async function libExec(id: string, proc: Partial<Process>, opts: Omit<ExecOptions, 'process'> = {}): Promise<Execd & { holdFd?: number }> {
  const h = await exec(rt, id, { process: { ...baseProcess(id), ...proc }, ...opts });
  const exited = rt.sys.watchExit(h.pidfd).then((s) => ({ ...s, status: exitStatusCode(s) }));
  exited.catch(() => undefined);
  const e = { ...h, exited };
  execd.push(e);
  return e;
}

/** Library exec with files for stdio; resolves when it has exited. */
async function libRun(id: string, proc: Partial<Process>, stdin?: number): Promise<{ status: number; signal: number | null; out: string; err: string }> {
  const io = captureIo(stdin);
  let e: Execd;
  try {
    e = await libExec(id, proc, { stdio: io.stdio });
  } finally {
    io.close();
  }
  const s = await e.exited;
  return { status: s.status, signal: s.signal, out: io.out(), err: io.err() };
}

/** Library exec with a terminal: the master received on a console socket, as a PtyStream. */
async function ttyExec(id: string, proc: Partial<Process>): Promise<{ e: Execd; pty: PtyStream; out: TermOutput }> {
  const rcv = new ConsoleReceiver();
  receivers.push(rcv);
  const e = await libExec(id, { ...proc, terminal: true }, { consoleSocket: rcv.path });
  const pty = new PtyStream(rcv.receive().fd);
  streams.push(pty);
  return { e, pty, out: new TermOutput(pty) };
}

/** `hull ARGS` with piped stdio, `input` written to its stdin and then closed. */
function cliAsync(args: string[], input?: string): Promise<HullResult> {
  const child = spawn(process.execPath, [HULL_BIN, '--root', suite.root.dir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (input !== undefined) child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** `hull ARGS` under script(1), so that hull's own stdio is a terminal; stdin never reaches EOF. */
function cliUnderScript(args: string[]): { status: number | null; out: string } {
  const p = scratchFile('stdin');
  native().mkfifo(p, 0o600);
  const stdin = fs.openSync(p, fs.constants.O_RDWR);
  try {
    const cmd = [process.execPath, HULL_BIN, '--root', suite.root.dir, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const r = spawnSync('/usr/bin/script', ['-qec', cmd, '/dev/null'], { encoding: 'latin1', timeout: 8000, stdio: [stdin, 'pipe', 'pipe'] });
    return { status: r.status, out: r.stdout };
  } finally {
    fs.closeSync(stdin);
  }
}

describeContainers('exec: stdio', () => {
  test('without a tty, stdout and stderr stay separate (library and CLI)', async () => {
    const { id } = await running();
    const script = 'echo out; echo err >&2; echo out2';
    expect(await libRun(id, { args: ['sh', '-c', script] })).toMatchObject({ status: 0, out: 'out\nout2\n', err: 'err\n' });
    expect(cli(['exec', id, 'sh', '-c', script])).toMatchObject({ status: 0, stdout: 'out\nout2\n', stderr: 'err\n' });
  });

  test('with a tty, the output has CRLF line endings and stderr is merged into it (library and CLI -t)', async () => {
    const { id } = await running();
    const { e, pty, out } = await ttyExec(id, { args: ['sh', '-c', 'echo out; echo err >&2; echo out2'] });
    const ended = new Promise((r) => pty.once('end', r));
    expect((await e.exited).status).toBe(0);
    // EIO once the process has gone: the stream ends; the master is ours to close, after the exit
    await ended;
    expect(out.text).toBe('out\r\nerr\r\nout2\r\n');
    await new Promise((r) => {
      pty.once('close', r);
      pty.destroy(); // pts 0 is free again
    });

    const r = cliUnderScript(['exec', '-t', id, 'sh', '-c', 'echo out; echo err >&2; tty']);
    expect(r.status).toBe(0);
    expect(r.out).toBe('out\r\nerr\r\n/dev/pts/0\r\n');
  });

  test('stty size reflects the latest resize', async () => {
    const { id } = await running();
    const { e, pty, out } = await ttyExec(id, { args: ['sh', '-c', 'read a; stty size; read b; stty size'] });
    pty.resize(100, 30);
    pty.write('\n');
    await out.until(/\r\n30 100\r\n/);
    pty.resize(132, 50);
    pty.resize(90, 33);
    pty.write('\n');
    await out.until(/\r\n33 90\r\n/);
    expect((await e.exited).status).toBe(0);
  });

  test('stdin reaches the process, and closing it gives EOF: cat copies and exits (library and CLI)', async () => {
    const { id } = await running();
    const pipe = fifoPipe();
    const io = captureIo(pipe.read);
    let e: Execd;
    try {
      e = await libExec(id, { args: ['cat'] }, { stdio: io.stdio });
    } finally {
      io.close();
    }
    fs.writeSync(pipe.write, 'hello\nworld\n');
    fs.closeSync(pipe.write);
    expect((await e.exited).status).toBe(0);
    expect(io.out()).toBe('hello\nworld\n');

    expect(await cliAsync(['exec', id, 'cat'], 'from the cli\n')).toMatchObject({ status: 0, stdout: 'from the cli\n', stderr: '' });
  });

  test('with a tty, stdin is echoed, and ^D is the EOF that ends cat', async () => {
    const { id } = await running();
    const { e, pty, out } = await ttyExec(id, { args: ['cat'] });
    pty.write('hello\n');
    // the line discipline's echo, then cat's copy
    await out.until(/^hello\r\nhello\r\n$/);
    pty.write('\x04');
    expect((await e.exited).status).toBe(0);
  });
});

describeContainers('exec: status, place and identity', () => {
  test('the exit code comes back, and death by signal N becomes 128+N (library and CLI)', async () => {
    const { id } = await running();
    expect(await libRun(id, { args: ['sh', '-c', 'exit 42'] })).toMatchObject({ status: 42, signal: null });
    expect(await libRun(id, { args: ['sh', '-c', 'kill -TERM $$'] })).toMatchObject({ status: 143, signal: 15 });
    expect(cli(['exec', id, 'sh', '-c', 'exit 42']).status).toBe(42);
    expect(cli(['exec', id, 'sh', '-c', 'kill -KILL $$']).status).toBe(137);
  });

  test('files written through exec are in the container (its rootfs, its tmpfs), not at the host\'s same path', async () => {
    // a writable rootfs (the default config's is read-only)
    const { id, pid, bundle } = await running(undefined, (s) => {
      s.root!.readonly = false;
    });
    const name = `hull-exec-${path.basename(scratch.dir)}`;
    const r = await libRun(id, { args: ['sh', '-c', `echo rootfs > /tmp/${name} && echo shm > /dev/shm/${name}`] });
    expect(r).toMatchObject({ status: 0, err: '' });
    expect(fs.readFileSync(path.join(bundle.rootfs, 'tmp', name), 'utf8')).toBe('rootfs\n');
    expect(fs.readFileSync(`/proc/${pid}/root/dev/shm/${name}`, 'utf8')).toBe('shm\n');
    expect(fs.existsSync(`/tmp/${name}`)).toBe(false);
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
  });

  test('the exec\'d process is in the init\'s cgroups, namespaces and root, with the task\'s capabilities and user', async () => {
    const { id, pid: init } = await running();
    const e = await libExec(id, { args: ['sleep', '999'] }, { stdio: [-1, -1, -1] });
    await waitForExec(e.pid, ['sleep', '999']);
    expect(fs.readFileSync(`/proc/${e.pid}/cgroup`, 'utf8')).toBe(fs.readFileSync(`/proc/${init}/cgroup`, 'utf8'));
    for (const ns of NAMESPACES) expect([ns, fs.readlinkSync(`/proc/${e.pid}/ns/${ns}`)]).toEqual([ns, fs.readlinkSync(`/proc/${init}/ns/${ns}`)]);
    // and they are the container's, not the host's
    for (const ns of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']) expect(fs.readlinkSync(`/proc/${e.pid}/ns/${ns}`)).not.toBe(fs.readlinkSync(`/proc/self/ns/${ns}`));
    const rootOf = (p: number) => {
      const st = fs.statSync(`/proc/${p}/root/`);
      return [st.dev, st.ino];
    };
    expect(rootOf(e.pid)).toEqual(rootOf(init));
    const [mine, its] = [procStatus(e.pid), procStatus(init)];
    for (const k of ['CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Uid', 'Gid', 'Groups']) expect([k, mine[k]]).toEqual([k, its[k]]);
    expect(mine['CapEff']).toBe(DEFAULT_CAP_HEX);
  });

  test('-u 65534:65534: the nobody user and group, and no group 0 anywhere', async () => {
    const { id } = await running();
    const r = ok(cli(['exec', '-u', '65534:65534', id, 'sh', '-c', 'id; grep -E "^(Uid|Gid|Groups|CapEff):" /proc/self/status']));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('uid=65534(nobody) gid=65534(nogroup)');
    expect(r.stdout).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(r.stdout).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(r.stdout).toMatch(/^Groups:\s*$/m);
    expect(r.stdout).toMatch(/^CapEff:\s+0000000000000000$/m);
  });
});

describeContainers('exec: detached, and as conmon and containerd call it', () => {
  test('hull exec -d --pid-file F writes F and exits at once; the process runs on, reparented away from hull', async () => {
    const { id, pid: init } = await running();
    const pidFile = scratchFile('pid');
    const started = Date.now();
    ok(cli(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '998']));
    expect(Date.now() - started).toBeLessThan(3000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    detached.push(pid);
    expect(alive(pid)).toBe(true);
    await waitForExec(pid, ['sleep', '998']);
    const ppid = Number(procStatus(pid)['PPid']);
    const parentCmd = fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8');
    expect(parentCmd).not.toContain('hull');
    expect(ppid).not.toBe(process.pid);
    expect(fs.readlinkSync(`/proc/${pid}/ns/pid`)).toBe(fs.readlinkSync(`/proc/${init}/ns/pid`));
    process.kill(pid, 'SIGKILL');
    await waitFor('the detached process to die', () => !alive(pid));
  });

  test('hull exec -d -t without a console socket is refused (nobody would hold the terminal), and starts nothing', async () => {
    const { id, pid } = await running();
    const r = cli(['exec', '-d', '-t', id, 'sleep', '997']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toBe('hull: exec: --detach with a terminal needs --console-socket\n');
    expect(pidsInCgroupsNamed(id)).toEqual([pid]);
  });

  test('conmon: exec --pid-file F --process P.json --detach ID, terminal false', async () => {
    const { id, pid: init } = await running();
    const name = `conmon-${path.basename(scratch.dir)}`;
    const proc: Process = {
      ...baseProcess(id),
      terminal: false,
      args: ['sh', '-c', `echo "$FROM" > /dev/shm/${name}; exec sleep 996`],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FROM=conmon'],
      cwd: '/',
    };
    const procFile = scratchFile('exec-process-1.json');
    fs.writeFileSync(procFile, JSON.stringify(proc));
    const pidFile = scratchFile('exec_pid');
    ok(cli(['exec', '--pid-file', pidFile, '--process', procFile, '--detach', id]));
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    detached.push(pid);
    await waitForExec(pid, ['sleep', '996']);
    expect(fs.readFileSync(`/proc/${init}/root/dev/shm/${name}`, 'utf8')).toBe('conmon\n');
    expect(fs.readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(fs.readlinkSync(`/proc/${init}/ns/mnt`));
  });

  test.each([
    ['containerd: --console-socket and no --tty, terminal from process.json', []],
    ['conmon: --tty --console-socket', ['--tty']],
  ])('%s: the master arrives on the socket, and the process runs on it', async (_what, extra) => {
    const { id } = await running();
    const rcv = new ConsoleReceiver();
    receivers.push(rcv);
    const procFile = scratchFile('runc-process.json');
    fs.writeFileSync(procFile, JSON.stringify({ ...baseProcess(id), terminal: true, args: ['sh'] }));
    const pidFile = scratchFile('exec.pid');
    ok(cli(['exec', '--process', procFile, '--console-socket', rcv.path, ...extra, '--detach', '--pid-file', pidFile, id]));
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    detached.push(pid);
    const got = rcv.receive();
    expect(got.name).toBe('/dev/pts/0');
    const pty = new PtyStream(got.fd);
    streams.push(pty);
    const out = new TermOutput(pty);
    pty.write('echo hi; tty\n');
    await out.until(/\r\nhi\r\n\/dev\/pts\/0\r\n/);
    expect(fs.readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/pts/0');
  });
});

describeContainers('exec: refusals', () => {
  test('exec into a stopped container fails, naming its status (CLI and library)', async () => {
    const { id, c } = await running(['true'], undefined, false);
    expect((await c.wait()).status).toBe(0);
    const r = cli(['exec', id, 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toBe(`hull: cannot exec in container \`${id}\`: it is stopped, not running\n`);
    await expect(exec(rt, id, { process: { ...baseProcess(id), args: ['true'] } })).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringContaining('it is stopped') });
  });

  test('exec of a nonexistent binary fails naming it, and leaves no process (CLI and library)', async () => {
    const { id, pid } = await running();
    const children = childrenOf(process.pid).sort();
    const r = cli(['exec', id, '/no/such-binary', 'arg']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toBe('hull: exec `/no/such-binary`: no such file or directory\n');
    await expect(exec(rt, id, { process: { ...baseProcess(id), args: ['no-such-command'] } })).rejects.toMatchObject({
      code: 'ENOENT',
      message: 'exec `no-such-command`: no such file or directory',
    });
    expect(pidsInCgroupsNamed(id)).toEqual([pid]);
    expect(childrenOf(process.pid).sort()).toEqual(children);
  });
});

describeContainers('exec: CVE-2019-5736', () => {
  test('a held exec (still hull\'s node binary) cannot be opened through /proc/<pid>/exe from the container; a dumpable process can; released, it runs', async () => {
    const { id } = await running();
    const io = captureIo();
    let held: Execd & { holdFd?: number };
    try {
      held = await libExec(id, { args: ['echo', 'released'] }, { stdio: io.stdio, hold: true });
    } finally {
      io.close();
    }
    expect(held.holdFd).toEqual(expect.any(Number));
    // stopped just before exec: its exe is the host's node, the binary an attacker would overwrite
    expect(fs.readlinkSync(`/proc/${held.pid}/exe`)).toBe(fs.realpathSync(process.execPath));
    const nspid = /^NSpid:\s+\d+\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${held.pid}/status`, 'utf8'))?.[1];
    expect(nspid).toBeDefined();
    const probe = (target: string) => libRun(id, { args: ['sh', '-c', `cat /proc/${target}/exe > /dev/null`] });

    const denied = await probe(nspid as string);
    expect(denied.status).toBe(1);
    expect(denied.err).toBe(`cat: can't open '/proc/${nspid}/exe': Permission denied\n`);
    // the same probe on a dumpable process of the same container, as the same user: the init's sleep
    expect(await probe('1')).toMatchObject({ status: 0, err: '' });

    rt.sys.releaseHeld(held.holdFd as number);
    expect((await held.exited).status).toBe(0);
    expect(io.out()).toBe('released\n');
  });
});

describeContainers('exec: leaks', () => {
  test('200 execs of /bin/true: this process has the same fds and children after as before', async () => {
    const { id } = await running();
    const devnull = fs.openSync('/dev/null', 'r+');
    try {
      const run = async () => {
        const h = await exec(rt, id, { process: { ...baseProcess(id), args: ['/bin/true'] }, stdio: [devnull, devnull, devnull] });
        try {
          const s = await rt.sys.watchExit(h.pidfd);
          if (s.exitCode !== 0) throw new Error(`/bin/true exited ${JSON.stringify(s)}`);
        } finally {
          rt.sys.close(h.pidfd);
        }
      };
      await run(); // the exit watcher's thread and fds are made once, on first use
      const fdsBefore = fdCount();
      const childrenBefore = childrenOf(process.pid).sort();
      for (let i = 0; i < 200; i++) await run();
      expect(fdCount()).toBe(fdsBefore);
      expect(childrenOf(process.pid).sort()).toEqual(childrenBefore);
    } finally {
      fs.closeSync(devnull);
    }
  });
});
