/**
 * `hull exec`: runc's command line, as conmon and containerd's shim call it
 * (`exec --process P.json --detach --pid-file F [--console-socket S] ID`), and by hand
 * (`exec [-t] [-e K=V] [--cwd D] [-u UID[:GID]] ID CMD...`).
 */
import * as fs from 'node:fs';
import { exec } from '../../container/exec';
import { defaultRuntime } from '../../container/runtime';
import { writePidFile } from '../../container/state-store';
import { HullError } from '../../errors';
import { ConsoleListener, finishRelay, relayTerminal } from '../../io/console';
import type { Process } from '../../oci/schema';
import { validateSpec } from '../../oci/validate';
import { exitStatusCode } from '../../signals';
import { bool, list, needId, parseArgs, str, type Parsed } from '../args';
import type { Globals } from '../main';
import { preserveFds } from './lifecycle';

const FLAGS = {
  values: ['process', 'console-socket', 'pid-file', 'cwd', 'user', 'env', 'cap', 'preserve-fds', 'apparmor', 'process-label'],
  booleans: ['tty', 'detach', 'no-new-privs'],
  aliases: { p: 'process', t: 'tty', d: 'detach', e: 'env', u: 'user', c: 'cap' },
  repeat: ['env', 'cap'],
};

/** A process.json, checked against the runtime-spec schema like a whole config. */
function readProcess(file: string): Process {
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HullError(`invalid process \`${file}\`: ${(e as Error).message}`, { code: 'EINVALIDCONFIG', field: 'process' });
  }
  return validateSpec({ ociVersion: '1.2.0', root: { path: 'rootfs' }, process: value }).process!;
}

function parseUser(v: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(v);
  if (!m) throw new HullError(`--user: expected UID[:GID], got \`${v}\``, { code: 'EINVALIDARG', field: 'user' });
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

/** runc's rule: without --process the container's own process is the base, with the flags on top. */
function processFromFlags(p: Parsed, base: Process): Process {
  const args = p.positionals.slice(1);
  if (!args.length) throw new HullError('exec: give the command to run, or --process', { code: 'EINVALIDARG' });
  const out: Process = { ...base, args, terminal: bool(p, 'tty'), env: [...(base.env ?? []), ...list(p, 'env')] };
  const cwd = str(p, 'cwd');
  const user = str(p, 'user');
  if (cwd) out.cwd = cwd;
  if (user) out.user = { ...parseUser(user) };
  if (bool(p, 'no-new-privs')) out.noNewPrivileges = true;
  const caps = list(p, 'cap');
  if (caps.length) {
    const c = { ...base.capabilities };
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable'] as const) c[set] = [...(c[set] ?? []), ...caps];
    out.capabilities = c;
  }
  return out;
}

export async function execCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, FLAGS, true);
  const id = needId(p, 'exec');
  const rt = defaultRuntime(g.root);
  const file = str(p, 'process');
  const proc = file ? readProcess(file) : processFromFlags(p, rt.store.readConfig(id).process!);
  const socket = str(p, 'console-socket');
  if (proc.terminal && !socket && bool(p, 'detach')) {
    // nobody would hold the master: the process would get a hangup at once (runc refuses too)
    throw new HullError('exec: --detach with a terminal needs --console-socket', { code: 'EINVALIDARG', field: 'console-socket' });
  }
  const listener = proc.terminal && !socket ? new ConsoleListener() : undefined;
  try {
    const consoleSocket = socket ?? listener?.path;
    const { pid, pidfd } = await exec(rt, id, { process: proc, preserveFds: preserveFds(str(p, 'preserve-fds')), ...(consoleSocket ? { consoleSocket } : {}) });
    const pidFile = str(p, 'pid-file');
    if (pidFile) writePidFile(pidFile, pid);
    if (bool(p, 'detach')) {
      // the process stays behind, reparented to our caller, as with create
      rt.sys.close(pidfd);
      return 0;
    }
    const relay = listener ? relayTerminal(listener.receive().fd) : undefined;
    const forward = (sig: NodeJS.Signals) => rt.sys.signal(pidfd, require('node:os').constants.signals[sig]);
    const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    for (const s of sigs) process.on(s, forward);
    try {
      const status = exitStatusCode(await rt.sys.watchExit(pidfd));
      await finishRelay(relay);
      return status;
    } finally {
      for (const s of sigs) process.off(s, forward);
      rt.sys.close(pidfd);
    }
  } finally {
    listener?.close();
  }
}
