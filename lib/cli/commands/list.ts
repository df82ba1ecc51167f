import { defaultRuntime } from '../../container/runtime';
import { readRecord } from '../../container/start';
import { state, type OciState } from '../../container/state';
import { HullError } from '../../errors';
import { bool, needId, parseArgs, str } from '../args';
import type { Globals } from '../main';

function format(p: ReturnType<typeof parseArgs>): 'table' | 'json' {
  const f = str(p, 'format') ?? 'table';
  if (f !== 'table' && f !== 'json') throw new HullError(`--format: expected table or json, got \`${f}\``, { code: 'EINVALIDARG' });
  return f;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('')).join('\n') + '\n';
}

export async function listCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['format'], booleans: ['quiet'], aliases: { f: 'format', q: 'quiet' } });
  const rt = defaultRuntime(g.root);
  const states: OciState[] = [];
  for (const id of rt.store.list()) {
    try {
      states.push(state(rt, id));
    } catch {
      // removed while we listed
    }
  }
  if (bool(p, 'quiet')) {
    process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
  } else if (format(p) === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
    process.stdout.write(table(rows));
  }
  return 0;
}

/** `hull ps`: the host pids of the container's processes, from its cgroup. */
export async function psCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['format'], booleans: [], aliases: { f: 'format' } });
  const rt = defaultRuntime(g.root);
  const id = needId(p, 'ps');
  const rec = readRecord(rt, id);
  const pids = rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths).pids();
  if (format(p) === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  if (pids.length === 0) return 0;
  process.stdout.write(execFileSync('ps', ['-o', 'user,pid,ppid,stime,time,args', '-p', pids.join(',')], { encoding: 'utf8' }));
  return 0;
}
