import * as os from 'node:os';
import { HullError } from './errors';

const byName = os.constants.signals as Record<string, number>;
const byNumber = new Map<number, string>(Object.entries(byName).map(([n, v]) => [v, n]));

/** `SIGTERM`, `TERM`, `term` or `15` → 15. An unknown name or number is an error naming it. */
export function parseSignal(sig: string | number, field = 'signal'): number {
  if (typeof sig === 'number' || /^\d+$/.test(sig)) {
    const n = Number(sig);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
  } else {
    const name = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
    const n = byName[name];
    if (n !== undefined) return n;
  }
  throw new HullError(`unknown signal \`${sig}\``, { code: 'EINVALIDARG', field });
}

export function signalName(n: number): string {
  return byNumber.get(n) ?? `SIG${n}`;
}

/** A shell's exit status: the code of a normal exit, 128+N for death by signal N. */
export function exitStatusCode(s: { exitCode: number | null; signal: number | null }): number {
  return s.signal !== null ? 128 + s.signal : (s.exitCode ?? 0);
}
