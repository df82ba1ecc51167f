import { Container } from '../../container/container';
import { create } from '../../container/create';
import { remove } from '../../container/delete';
import { defaultRuntime } from '../../container/runtime';
import { start } from '../../container/start';
import { bool, needId, parseArgs, str } from '../args';
import type { Globals } from '../main';
import { CREATE_FLAGS, preserveFds } from './lifecycle';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Runs a container in the foreground until it exits, and exits with its status; the signals
 * hull receives go to the container's init.
 */
export async function runForeground(c: Container): Promise<number> {
  const forward = (sig: NodeJS.Signals) => {
    try {
      c.kill(sig);
    } catch {
      // it exited meanwhile
    }
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    c.start();
    return (await c.wait()).status;
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
    await c.delete(true);
  }
}

export async function runCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { ...CREATE_FLAGS, booleans: [...CREATE_FLAGS.booleans, 'detach', 'keep'], aliases: { ...CREATE_FLAGS.aliases, d: 'detach' } });
  const pidFile = str(p, 'pid-file');
  const consoleSocket = str(p, 'console-socket');
  const opts = {
    id: needId(p, 'run'),
    bundle: str(p, 'bundle') ?? '.',
    preserveFds: preserveFds(str(p, 'preserve-fds')),
    ...(pidFile ? { pidFile } : {}),
    ...(consoleSocket ? { consoleSocket } : {}),
  };
  if (!bool(p, 'detach')) {
    const root = g.root;
    return runForeground(await Container.create({ ...opts, ...(root ? { root } : {}) }));
  }
  const rt = defaultRuntime(g.root);
  const { pidfd } = await create(rt, opts);
  try {
    start(rt, opts.id);
  } catch (e) {
    await remove(rt, opts.id, true);
    throw e;
  } finally {
    rt.sys.close(pidfd);
  }
  return 0;
}
