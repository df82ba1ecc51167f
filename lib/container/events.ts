/**
 * `events` (runc's): the container's cgroup statistics as JSON lines, once (`--stats`) or every interval, and an
 * `oom` event whenever the kernel OOM-kills one of its processes; ends when the container stops.
 */
import { performance } from 'node:perf_hooks';
import type { CgroupManager, CgroupStats } from '../cgroup';
import { HullError } from '../errors';
import type { Runtime } from './runtime';
import { readRecord } from './start';
import { initAlive } from './state';
import type { ContainerRecord } from './state-store';

// ---- Go durations ----

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration (time.ParseDuration: `200ms`, `1s`, `1m30s`, `1.5h`, `-2s`, `0`) in milliseconds.
 * Throws EINVALIDARG naming `what` (such as `--interval`) on anything else.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const bad = (): HullError => new HullError(`${what}: invalid duration \`${text}\` (use Go's form: 200ms, 1s, 1m30s)`, { code: 'EINVALIDARG' });
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (!s) throw bad();
  const re = /(\d*(?:\.\d*)?)([a-z\u00b5\u03bc]+)/y; // escaped: keeps the CLI bundle ASCII (lib/cli/boot.ts)
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw bad();
    const num = m[1] as string;
    const unit = UNIT_MS[m[2] as string];
    if (!num || num === '.' || unit === undefined) throw bad();
    total += Number(num) * unit;
    pos = re.lastIndex;
  }
  return sign * total;
}

// ---- the schedule ----

/**
 * The tick that comes next after `now`, for ticks at start + k*interval (k ≥ 1): each tick's time comes from
 * the start, never from when the previous one finished, so the ticks do not drift; ticks already missed
 * (a slow sample, a suspended machine) are skipped, not bunched.
 */
export function nextTick(start: number, intervalMs: number, now: number, lastK = 0): { k: number; at: number } {
  if (!(intervalMs > 0)) throw new HullError(`interval must be positive, got ${intervalMs} ms`, { code: 'EINVALIDARG' });
  // after lastK, always: a timer that fires a hair early, or (start + k*interval - start) / interval
  // coming out as k - 1e-16 in floating point, would otherwise give tick lastK a second time
  const k = Math.max(lastK + 1, Math.floor((now - start) / intervalMs) + 1);
  return { k, at: start + k * intervalMs };
}

// ---- runc's event shapes ----

export interface RuncStats {
  cpu: {
    usage: { total: number; user: number; kernel: number };
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory: {
    usage: { usage: number; max: number };
    swap: { usage: number };
    cache: number;
    /** runc's `raw`, by cgroup v1 memory.stat names */
    stats: Record<string, number>;
    raw: Record<string, number>;
  };
  pids: { current: number; limit: number };
  /** hull's: the fields this host really measured (the others read 0) */
  measured: readonly string[];
  oomKills: number;
}

export interface StatsEvent {
  type: 'stats';
  id: string;
  data: RuncStats;
}

export interface OomEvent {
  type: 'oom';
  id: string;
}

export type ContainerEvent = StatsEvent | OomEvent;

/** A hull sample in runc's types.Stats shape (`runc events --stats`). */
export function runcStats(s: CgroupStats, oomKills = s.oomKills): RuncStats {
  const m = s.memory;
  const stats: Record<string, number> = {};
  const put = (k: string, v: number | undefined): void => {
    if (v !== undefined) stats[k] = v;
  };
  put('rss', m.rss);
  put('cache', m.cache);
  put('mapped_file', m.mappedFile);
  put('pgfault', m.pgfault);
  put('pgmajfault', m.pgmajfault);
  put('swap', m.swap);
  return {
    cpu: {
      usage: { total: s.cpu.totalNs, user: s.cpu.userNs, kernel: s.cpu.systemNs },
      // the sampler keeps throttled periods, not all periods: `periods` reads 0 (see `measured`)
      throttling: { periods: 0, throttledPeriods: s.cpu.throttledPeriods, throttledTime: s.cpu.throttledTimeNs },
    },
    memory: {
      usage: { usage: m.usage, max: m.maxUsage ?? 0 },
      swap: { usage: m.swap ?? 0 },
      cache: m.cache ?? 0,
      stats,
      raw: stats,
    },
    // runc: 0 when unlimited
    pids: { current: s.pids.current, limit: s.pids.limit === undefined || !Number.isFinite(s.pids.limit) ? 0 : s.pids.limit },
    measured: s.measured,
    oomKills,
  };
}

// ---- the verb ----

export interface EventsOptions {
  /** one stats event, then return */
  stats?: boolean;
  /** between stats events; default 5000 */
  intervalMs?: number;
  /** where each event goes (one JSON object per call) */
  emit: (e: ContainerEvent) => void;
  /** for tests: a monotonic clock in ms and a sleep */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** resolves the loop early (e.g. on SIGINT) */
  signal?: AbortSignal;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runningRecord(rt: Runtime, id: string): ContainerRecord | undefined {
  let rec: ContainerRecord;
  try {
    rec = readRecord(rt, id);
  } catch (e) {
    if (e instanceof HullError && e.code === 'ENOTFOUND') return undefined; // deleted under us
    throw e;
  }
  return initAlive(rt, rec) ? rec : undefined;
}

/**
 * Emits stats events (every `intervalMs`, on a drift-free schedule from the start) and oom events, until the
 * container stops. With `stats`, emits one stats event and returns. One StatsReader serves every tick.
 */
export async function events(rt: Runtime, id: string, opts: EventsOptions): Promise<void> {
  const rec = readRecord(rt, id);
  if (!initAlive(rt, rec)) throw new HullError(`container \`${id}\` is not running`, { code: 'ESTATE' });
  const cg: CgroupManager = rt.cgroups(id, rec.cgroupsPath, rec.cgroupPaths);
  const reader = cg.statsReader();
  try {
    if (opts.stats) {
      opts.emit({ type: 'stats', id, data: runcStats(reader.read(), safeOom(cg)) });
      return;
    }
    const intervalMs = opts.intervalMs ?? 5000;
    const now = opts.now ?? (() => performance.now());
    const sleep = opts.sleep ?? defaultSleep;
    const start = now();
    let lastOom = safeOom(cg);
    let k = 0;
    for (;;) {
      const next = nextTick(start, intervalMs, now(), k);
      k = next.k;
      const at = next.at;
      await sleep(Math.max(0, at - now()));
      if (opts.signal?.aborted) return;
      // before the liveness check: an OOM kill of the init is what stopped many a container
      const oom = safeOom(cg);
      if (oom > lastOom) opts.emit({ type: 'oom', id });
      lastOom = oom;
      if (!runningRecord(rt, id)) return;
      let sample: CgroupStats;
      try {
        sample = reader.read();
      } catch (e) {
        if (!runningRecord(rt, id)) return; // the cgroup went with the container
        throw e;
      }
      opts.emit({ type: 'stats', id, data: runcStats(sample, oom) });
    }
  } finally {
    reader.close();
  }
}

function safeOom(cg: CgroupManager): number {
  try {
    return cg.oomKillCount();
  } catch {
    return 0;
  }
}
