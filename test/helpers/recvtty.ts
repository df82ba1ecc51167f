/**
 * Console-socket receivers for the tests, like runc's tests/cmd/recvtty: a runtime connects to
 * a unix socket and sends, in one sendmsg, the pty master as the only SCM_RIGHTS fd with the
 * pty's NUL-terminated name as payload.
 *
 * - `ConsoleReceiver` is built on hull's own primitives (native listenUnix/accept/recvFd).
 * - `PythonReceiver` is an independent implementation in python3 that reads the raw
 *   ancillary data as conmon does (one SCM_RIGHTS cmsg of exactly CMSG_LEN(sizeof(int))), then
 *   drives the terminal itself: it checks the contract without any of hull's code.
 * - `pySend` / `pyBounce` are python3 senders for the unit tests of the SCM_RIGHTS helpers and of
 *   PtyStream (a pty made by python, its master sent to us).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { ConsoleListener } from '../../lib/io/console';
import { native } from '../../lib/native';

export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** O_CLOEXEC as /proc/<pid>/fdinfo prints `flags` (octal). */
export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;

/** The fields of /proc/self/fdinfo/<fd>; `flags` parsed from octal. */
export function fdInfo(fd: number): { flags: number; ttyIndex?: number } {
  const text = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const flags = /^flags:\s*([0-7]+)$/m.exec(text);
  const tty = /^tty-index:\s*(\d+)$/m.exec(text);
  return { flags: parseInt(flags?.[1] ?? '0', 8), ...(tty ? { ttyIndex: Number(tty[1]) } : {}) };
}

/** How many fds this process has open. */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

const SOCKET_DIR_PREFIX = `hull-test-${process.pid}-tty-`;

function socketDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), SOCKET_DIR_PREFIX));
}

/** A console socket on hull's own helpers (listenUnix, accept, recvFd), named as the tests' files are. */
export class ConsoleReceiver extends ConsoleListener {
  constructor() {
    super(SOCKET_DIR_PREFIX);
  }
}

/** Lines of JSON from a child's stdout, one awaited at a time. */
class JsonLines {
  private buf = '';
  private readonly queue: unknown[] = [];
  private waiters: ((v: unknown) => void)[] = [];
  private ended = false;

  /** ends when the child has exited and its stdio are closed, so that its stderr is all there */
  constructor(child: ChildProcessWithoutNullStreams, private readonly describe: () => string) {
    const stream: Readable = child.stdout;
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.trim()) this.deliver(JSON.parse(line));
      }
    });
    child.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  private deliver(v: unknown): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.queue.push(v);
  }

  next<T>(ms = 8000): Promise<T> {
    if (this.queue.length) return Promise.resolve(this.queue.shift() as T);
    if (this.ended) return Promise.reject(new Error(`no more output: ${this.describe()}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${this.describe()}`)), ms);
      this.waiters.push((v) => {
        clearTimeout(timer);
        if (v === undefined) reject(new Error(`no more output: ${this.describe()}`));
        else resolve(v as T);
      });
    });
  }
}

/** What the python receiver saw of the one message, before touching the fd. */
export interface PyReport {
  /** every control message: level, type and data length (bytes) */
  cmsgs: { level: number; type: number; len: number }[];
  scmRights: { level: number; type: number };
  fds: number;
  msgFlags: number;
  ctrunc: boolean;
  /** the payload, latin1, with its NUL if sent */
  payload: string;
  isatty: boolean;
  ttyIndex: number | null;
  /** TIOCGPTN on the master */
  ptn: number;
  /** fstat of the peer opened through the master (TIOCGPTPEER) */
  peer: { dev: number; ino: number; rdev: number };
}

const PY_RECEIVER = String.raw`
import array, fcntl, json, os, re, select, socket, struct, sys, termios, time
path, opts = sys.argv[1], json.loads(sys.argv[2])
def out(v):
    sys.stdout.write(json.dumps(v) + "\n"); sys.stdout.flush()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
out({"listening": path})
srv.settimeout(opts.get("acceptTimeout", 8))
conn, _ = srv.accept()
os.unlink(path)  # conmon unlinks the socket after the first accept
# room for 16 fds, so that extra ones would show instead of being cut off
msg, anc, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
conn.close()
srv.close()
fds = []
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        a = array.array("i"); a.frombytes(data[: len(data) - len(data) % a.itemsize]); fds.extend(a)
rep = {"cmsgs": [{"level": l, "type": t, "len": len(d)} for l, t, d in anc],
       "scmRights": {"level": socket.SOL_SOCKET, "type": socket.SCM_RIGHTS},
       "fds": len(fds), "msgFlags": flags, "ctrunc": bool(flags & socket.MSG_CTRUNC),
       "payload": msg.decode("latin1"), "isatty": False, "ttyIndex": None, "ptn": -1, "peer": None}
if len(fds) != 1:
    out(rep); sys.exit(3)
m = fds[0]
rep["isatty"] = os.isatty(m)
info = open("/proc/self/fdinfo/%d" % m).read()
g = re.search(r"^tty-index:\s*(\d+)", info, re.M)
rep["ttyIndex"] = int(g.group(1)) if g else None
TIOCGPTN, TIOCGPTPEER = 0x80045430, 0x5441  # _IOR('T', 0x30, unsigned int), _IO('T', 0x41)
rep["ptn"] = struct.unpack("I", fcntl.ioctl(m, TIOCGPTN, b"\0" * 4))[0]
p = fcntl.ioctl(m, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
st = os.fstat(p)
os.close(p)
rep["peer"] = {"dev": st.st_dev, "ino": st.st_ino, "rdev": st.st_rdev}
out(rep)
# then drive the terminal, as conmon would: wait for the go, type, read until the pattern
cmd = sys.stdin.readline()
if not cmd:
    sys.exit(0)
cmd = json.loads(cmd)
os.write(m, cmd["input"].encode())
got, deadline = b"", time.time() + cmd.get("timeout", 5)
pat = re.compile(cmd["expect"].encode())
while not pat.search(got) and time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.1)
    if r:
        try:
            d = os.read(m, 4096)
        except OSError:
            break
        if not d:
            break
        got += d
out({"output": got.decode("latin1"), "matched": bool(pat.search(got))})
os.close(m)
`;

/** The conmon-like receiver: python3 listening on a socket path of its own. */
export class PythonReceiver {
  readonly dir: string;
  readonly path: string;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: JsonLines;
  private stderr = '';

  private constructor() {
    this.dir = socketDir();
    this.path = path.join(this.dir, 'conmon-term.sock');
    this.child = spawn(PYTHON, ['-c', PY_RECEIVER, this.path, '{}'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.lines = new JsonLines(this.child, () => `python receiver: ${this.stderr}`);
  }

  /** Starts the receiver and waits until it listens. */
  static async listen(): Promise<PythonReceiver> {
    const r = new PythonReceiver();
    await r.lines.next();
    return r;
  }

  /** What arrived on the socket: resolves once a runtime has sent. */
  report(ms = 8000): Promise<PyReport> {
    return this.lines.next<PyReport>(ms);
  }

  /** Types `input` on the master, reads until `expect` (a regex source) matches. */
  async converse(input: string, expect: string, timeoutS = 5): Promise<{ output: string; matched: boolean }> {
    this.child.stdin.write(`${JSON.stringify({ input, expect, timeout: timeoutS })}\n`);
    return this.lines.next<{ output: string; matched: boolean }>((timeoutS + 3) * 1000);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// senders, for the unit tests
// ---------------------------------------------------------------------------------------------

const PY_SENDER = String.raw`
import array, fcntl, json, os, socket, sys, termios
path, opts = sys.argv[1], json.loads(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
payload = opts.get("payload", "").encode("latin1")
child = None
if "pty" in opts:
    m, sl = os.openpty()
    payload = (os.ttyname(sl) + "\0").encode()
    child = os.fork()
    if child == 0:
        os.setsid()
        fcntl.ioctl(sl, termios.TIOCSCTTY, 0)
        for i in range(3): os.dup2(sl, i)
        os.closerange(3, 1024)
        os.execvp(opts["pty"][0], opts["pty"])
    os.close(sl)
    fds = [m]
else:
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(opts.get("fds", 1))]
if opts.get("split"):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f])) for f in fds]
else:
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
s.sendmsg([payload or b"\0"], anc)
s.close()
print(json.dumps({"sent": len(fds), "child": child}), flush=True)
`;

/**
 * Connects to `sockPath` and sends one message, then exits: `fds` copies of /dev/null (in one
 * cmsg, or one cmsg each with `split`), or with `pty` a pty master whose slave runs the command
 * (as session leader with it as controlling tty), named in the payload like a runtime does.
 */
export function pySend(sockPath: string, opts: { fds?: number; split?: boolean; payload?: string; pty?: string[] }): { sent: number; child: number | null } {
  const r = spawnSync(PYTHON, ['-c', PY_SENDER, sockPath, JSON.stringify(opts)], { encoding: 'utf8', timeout: 8000 });
  if (r.status !== 0) throw new Error(`python sender exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { sent: number; child: number | null };
}

const PY_BOUNCE = String.raw`
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print(json.dumps({"connected": True}), flush=True)
msg, anc, flags, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
fds = []
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        a = array.array("i"); a.frombytes(data); fds.extend(a)
st = [os.fstat(f) for f in fds]
print(json.dumps({"payload": msg.decode("latin1"), "cmsgs": [len(d) for _, _, d in anc], "fds": len(fds),
                  "ino": [x.st_ino for x in st], "dev": [x.st_dev for x in st]}), flush=True)
s.sendmsg([b"back\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
s.close()
`;

/** A python peer that connects, reports what one message carried, and sends the fds back. */
export class PyBounce {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: JsonLines;
  private stderr = '';

  constructor(sockPath: string) {
    this.child = spawn(PYTHON, ['-c', PY_BOUNCE, sockPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.lines = new JsonLines(this.child, () => `python bounce: ${this.stderr}`);
  }

  connected(): Promise<unknown> {
    return this.lines.next();
  }

  received(): Promise<{ payload: string; cmsgs: number[]; fds: number; ino: number[]; dev: number[] }> {
    return this.lines.next();
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// reading a terminal
// ---------------------------------------------------------------------------------------------

/** Destroys the streams still open and waits for each to close: its master fd is closed then. */
export async function destroyStreams(streams: Readable[]): Promise<void> {
  for (const s of streams) {
    if (!s.destroyed) {
      const closed = new Promise((r) => s.once('close', r));
      s.destroy();
      await closed;
    }
  }
}

/** Collects what a terminal prints, and waits for patterns in it. */
export class TermOutput {
  text = '';
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  ended = false;

  constructor(stream: Readable) {
    stream.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.check();
    });
    stream.on('end', () => (this.ended = true));
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      const m = w.re.exec(this.text);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** Resolves when the output so far matches `re`; fails after `ms` showing what came. */
  until(re: RegExp, ms = 5000): Promise<RegExpMatchArray> {
    const m = re.exec(this.text);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${re} in ${JSON.stringify(this.text)}`)), ms);
      this.waiters.push({
        re,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
    });
  }
}
