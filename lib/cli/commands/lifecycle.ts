import { create } from '../../container/create';
import { remove } from '../../container/delete';
import { kill } from '../../container/kill';
import { defaultRuntime } from '../../container/runtime';
import { start } from '../../container/start';
import { state } from '../../container/state';
import { HullError } from '../../errors';
import { bool, needId, parseArgs, str } from '../args';
import type { Globals } from '../main';

export const CREATE_FLAGS = {
  values: ['bundle', 'pid-file', 'console-socket', 'preserve-fds'],
  booleans: ['no-pivot', 'no-new-keyring'],
  aliases: { b: 'bundle' },
};

export function preserveFds(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HullError(`--preserve-fds: expected a count, got \`${v}\``, { code: 'EINVALIDARG' });
  return n;
}

/** `hull create`: leaves the init blocked until start, writes the pid file, and exits. */
export async function createCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, CREATE_FLAGS);
  const rt = defaultRuntime(g.root);
  const pidFile = str(p, 'pid-file');
  const consoleSocket = str(p, 'console-socket');
  const { pidfd } = await create(rt, {
    id: needId(p, 'create'),
    bundle: str(p, 'bundle') ?? '.',
    preserveFds: preserveFds(str(p, 'preserve-fds')),
    ...(pidFile ? { pidFile } : {}),
    ...(consoleSocket ? { consoleSocket } : {}),
  });
  // the init stays behind, reparented to our caller (conmon and containerd's shim are subreapers)
  rt.sys.close(pidfd);
  return 0;
}

export async function startCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: [] });
  start(defaultRuntime(g.root), needId(p, 'start'));
  return 0;
}

export async function stateCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: [] });
  process.stdout.write(`${JSON.stringify(state(defaultRuntime(g.root), needId(p, 'state')), null, 2)}\n`);
  return 0;
}

export async function killCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: ['all'], aliases: { a: 'all' } });
  kill(defaultRuntime(g.root), needId(p, 'kill'), p.positionals[1] ?? 'SIGTERM', bool(p, 'all'));
  return 0;
}

export async function deleteCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: ['force'], aliases: { f: 'force' } });
  await remove(defaultRuntime(g.root), needId(p, 'delete'), bool(p, 'force'));
  return 0;
}
