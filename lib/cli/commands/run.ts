import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, type ContainerOptions } from '../../container/container';
import { create } from '../../container/create';
import { remove } from '../../container/delete';
import { defaultRuntime } from '../../container/runtime';
import { start } from '../../container/start';
import { bool, needId, parseArgs, str } from '../args';
import type { Globals } from '../main';

// the terminal code is loaded only for a run that has a terminal: most runs have none
const io = (): typeof import('../../io/console') => require('../../io/console');
import { CREATE_FLAGS, preserveFds } from './lifecycle';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Runs a container in the foreground until it exits, and exits with its status; the signals
 * hull receives go to the container's init.
 */
export async function runForeground(c: Container, master?: number): Promise<number> {
  const forward = (sig: NodeJS.Signals) => {
    try {
      c.kill(sig);
    } catch {
      // it exited meanwhile
    }
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    const relay = master === undefined ? undefined : io().relayTerminal(master);
    c.start();
    const status = (await c.wait()).status;
    if (relay) await io().finishRelay(relay);
    return status;
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
    await c.delete(true);
  }
}

function wantsTerminal(bundle: string): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'))?.process?.terminal === true;
  } catch {
    return false; // create reports the config's problems
  }
}

/**
 * A foreground run of a config with a terminal and no --console-socket gets a pty made inside
 * the container, relayed to hull's own terminal (runc's behaviour).
 */
export async function runWithTerminal(opts: ContainerOptions): Promise<number> {
  if (opts.consoleSocket || !wantsTerminal(opts.bundle)) return runForeground(await Container.create(opts));
  const listener = new (io().ConsoleListener)();
  try {
    const c = await Container.create({ ...opts, consoleSocket: listener.path });
    return await runForeground(c, listener.receive().fd);
  } finally {
    listener.close();
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
  if (!bool(p, 'detach')) return runWithTerminal({ ...opts, ...(g.root ? { root: g.root } : {}) });
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
