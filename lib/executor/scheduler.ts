/**
 * The stats schedule: a sample at once, then at t0 + k*interval exactly (no drift: a tick's time
 * comes from t0, never from when the previous one ran; missed ticks are skipped, not bunched).
 * One timer at a time, and none at all once stopped: an executor with no stream open does no
 * periodic work.
 */
import { performance } from 'node:perf_hooks';
import { nextTick } from '../container/events';
import { HullError } from '../errors';

export interface Clock {
  /** monotonic ms */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Nomad's default when no interval is asked (0 or absent): 1 s. */
export const DEFAULT_STATS_INTERVAL_MS = 1000;
/** Below this a stream would be busy work, not telemetry. */
export const MIN_STATS_INTERVAL_MS = 10;

export function checkInterval(intervalMs: unknown): number {
  if (intervalMs === undefined || intervalMs === 0) return DEFAULT_STATS_INTERVAL_MS;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < MIN_STATS_INTERVAL_MS) {
    throw new HullError(`stats: intervalMs must be a number ≥ ${MIN_STATS_INTERVAL_MS}, got ${String(intervalMs)}`, { code: 'EINVALIDARG', field: 'intervalMs' });
  }
  return intervalMs;
}

export class TickScheduler {
  private timer: unknown;
  private t0 = 0;
  private stopped = true;

  /** `tick(k)` runs for k = 0 (at start) and at t0 + k*interval; an exception from it stops the schedule. */
  constructor(
    readonly intervalMs: number,
    private readonly tick: (k: number) => void,
    private readonly clock: Clock = realClock,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.t0 = this.clock.now();
    this.run(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get active(): boolean {
    return !this.stopped;
  }

  private run(k: number): void {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      this.tick(k);
    } catch (e) {
      this.stop();
      this.onError(e);
      return;
    }
    if (this.stopped) return; // tick() may stop it
    // a timer may fire a little early: never schedule tick k again (nextTick's lastK)
    const next = nextTick(this.t0, this.intervalMs, this.clock.now(), k);
    this.timer = this.clock.setTimeout(() => this.run(next.k), Math.max(0, next.at - this.clock.now()));
  }
}
