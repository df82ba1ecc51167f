/**
 * The `hull` command: runc's verbs and global flags, so that podman, containerd and scripts
 * written for runc can drive it. Each command module is loaded only when it runs.
 */
import * as fs from 'node:fs';
import { HullError } from '../errors';
import { parseArgs, str, bool } from './args';

export interface Globals {
  root?: string;
  log?: string;
  logFormat: 'text' | 'json';
  systemdCgroup: boolean;
}

export type Command = (argv: string[], g: Globals) => Promise<number>;

const COMMANDS: Record<string, () => Command> = {
  spec: () => require('./commands/spec').spec,
  create: () => require('./commands/lifecycle').createCmd,
  start: () => require('./commands/lifecycle').startCmd,
  run: () => require('./commands/run').runCmd,
  state: () => require('./commands/lifecycle').stateCmd,
  kill: () => require('./commands/lifecycle').killCmd,
  delete: () => require('./commands/lifecycle').deleteCmd,
  list: () => require('./commands/list').listCmd,
  ps: () => require('./commands/list').psCmd,
  sandbox: () => require('./commands/sandbox').sandboxCmd,
  features: () => require('./commands/spec').featuresCmd,
  exec: () => require('./commands/exec').execCmd,
  pause: () => require('./commands/cgroup').pauseCmd,
  resume: () => require('./commands/cgroup').resumeCmd,
  update: () => require('./commands/cgroup').updateCmd,
  events: () => require('./commands/cgroup').eventsCmd,
};

const GLOBAL_FLAGS = {
  values: ['root', 'log', 'log-format', 'criu', 'rootless'],
  booleans: ['systemd-cgroup', 'debug', 'help', 'version'],
  aliases: { h: 'help', v: 'version' },
};

const USAGE = `usage: hull [--root DIR] [--log FILE] [--log-format text|json] COMMAND [ARGS]

commands:
  sandbox [--name ID] [--user UID[:GID]] [--net host] -- CMD...   run CMD isolated on the host's read-only /usr, /bin, /lib, /etc
  spec [-b BUNDLE]                 write a default config.json
  create [-b BUNDLE] [--pid-file F] [--console-socket S] ID
  start ID
  run [-b BUNDLE] [-d] [--pid-file F] ID
  state ID
  kill [--all] ID [SIGNAL]
  delete [-f] ID
  list [--format table|json] [-q]
  ps [--format table|json] ID
  exec [-t] [-d] [--process P.json] [--console-socket S] [--pid-file F] [-e K=V] [--cwd D] [-u UID[:GID]] ID CMD...
  features
  pause ID
  resume ID
  update [--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-shares N]
         [--cpu-quota N] [--cpu-period N] [--cpuset-cpus S] [--cpuset-mems S] [--pids-limit N] ID
  events [--stats] [--interval DURATION] ID
`;

function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('-')) return i;
    if (!a.includes('=') && GLOBAL_FLAGS.values.includes(a.replace(/^--?/, ''))) i++;
  }
  return -1;
}

/** Splits the global flags (before the command) from the command and its own arguments. */
function splitGlobals(argv: string[]): { globals: Globals; command?: string; rest: string[]; help: boolean; version: boolean } {
  const idx = commandIndex(argv);
  const head = idx < 0 ? argv : argv.slice(0, idx);
  const p = parseArgs(head, GLOBAL_FLAGS);
  const fmt = str(p, 'log-format') ?? 'text';
  if (fmt !== 'text' && fmt !== 'json') throw new HullError(`--log-format: expected text or json, got \`${fmt}\``, { code: 'EINVALIDARG' });
  const globals: Globals = { logFormat: fmt, systemdCgroup: bool(p, 'systemd-cgroup') };
  const root = str(p, 'root');
  const log = str(p, 'log');
  if (root) globals.root = root;
  if (log) globals.log = log;
  return { globals, ...(idx >= 0 ? { command: argv[idx] } : {}), rest: idx < 0 ? [] : argv.slice(idx + 1), help: bool(p, 'help'), version: bool(p, 'version') };
}

/** Errors go to stderr and, with --log, to the log: JSON lines with --log-format json, which podman and containerd read. */
export function reportError(e: unknown, g: Globals | undefined): void {
  const msg = e instanceof HullError || (e instanceof Error && 'code' in e) ? (e as Error).message : String((e as Error)?.stack ?? e);
  process.stderr.write(`hull: ${msg}\n`);
  if (!g?.log) return;
  const line = g.logFormat === 'json' ? JSON.stringify({ level: 'error', msg, time: new Date().toISOString() }) : `${new Date().toISOString()} error: ${msg}`;
  try {
    fs.appendFileSync(g.log, `${line}\n`);
  } catch {
    // the log is best effort: stderr has the message
  }
}

export async function main(argv: string[]): Promise<number> {
  // warnings in hull's own voice, without Node's --trace-warnings hint
  process.removeAllListeners('warning');
  process.on('warning', (w) => process.stderr.write(`hull: warning: ${w.message}\n`));
  let globals: Globals | undefined;
  try {
    const split = splitGlobals(argv);
    globals = split.globals;
    if (split.version) {
      process.stdout.write(`hull version ${require('../../package.json').version}\nspec: 1.2.0\n`);
      return 0;
    }
    if (split.help || !split.command) {
      process.stdout.write(USAGE);
      return split.command || split.help ? 0 : 2;
    }
    const load = COMMANDS[split.command];
    if (!load) throw new HullError(`unknown command \`${split.command}\`; see \`hull --help\``, { code: 'EINVALIDARG' });
    return await load()(split.rest, globals);
  } catch (e) {
    reportError(e, globals);
    return 1;
  }
}
