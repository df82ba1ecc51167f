/** The cgroup verbs of runc: pause, resume, update, events. */
import * as fs from 'node:fs';
import { type ContainerEvent, events, parseDuration } from '../../container/events';
import { pause, resume } from '../../container/pause';
import { defaultRuntime } from '../../container/runtime';
import { UPDATE_FLAG_NAMES, type UpdateFlags, parseResourcesJson, resourcesFromFlags, update } from '../../container/update';
import { HullError } from '../../errors';
import { bool, needId, parseArgs, str } from '../args';
import type { Globals } from '../main';

export async function pauseCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: [] });
  await pause(defaultRuntime(g.root), needId(p, 'pause'));
  return 0;
}

export async function resumeCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: [], booleans: [] });
  await resume(defaultRuntime(g.root), needId(p, 'resume'));
  return 0;
}

/** `hull update [--resources FILE|-] [--memory N] ... ID` */
export async function updateCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['resources', ...UPDATE_FLAG_NAMES], booleans: [], aliases: { r: 'resources' } });
  const id = needId(p, 'update');
  const src = str(p, 'resources');
  let base = {};
  if (src !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(src === '-' ? 0 : src, 'utf8');
    } catch (e) {
      throw new HullError(`--resources: cannot read \`${src}\`: ${(e as Error).message}`, { code: 'EINVALIDARG', field: '--resources' });
    }
    base = parseResourcesJson(text, src === '-' ? 'stdin' : `\`${src}\``);
  }
  const flags: UpdateFlags = {};
  for (const name of UPDATE_FLAG_NAMES) {
    const v = str(p, name);
    if (v !== undefined) flags[name] = v;
  }
  update(defaultRuntime(g.root), id, resourcesFromFlags(flags, base));
  return 0;
}

/** `hull events [--stats] [--interval DURATION] ID`: JSON lines on stdout. */
export async function eventsCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['interval'], booleans: ['stats'] });
  const id = needId(p, 'events');
  const interval = str(p, 'interval');
  const intervalMs = interval === undefined ? 5000 : parseDuration(interval, '--interval');
  if (!(intervalMs > 0)) throw new HullError(`--interval: must be positive, got \`${interval}\``, { code: 'EINVALIDARG', field: '--interval' });
  // SIGINT/SIGTERM end the process by default, as they end runc's; the kernel closes the reader's files
  await events(defaultRuntime(g.root), id, {
    stats: bool(p, 'stats'),
    intervalMs,
    emit: (e: ContainerEvent) => process.stdout.write(`${JSON.stringify(e)}\n`),
  });
  return 0;
}
