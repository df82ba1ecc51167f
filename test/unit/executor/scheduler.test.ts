import { TickScheduler, checkInterval, type Clock } from '../../../lib/executor/scheduler';

/** A clock whose time moves only when the test says, with the timers it holds. */
class FakeClock implements Clock {
  t = 1000;
  timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** advance to the earliest timer (plus `late` ms of lateness) and fire it */
  fire(late = 0): void {
    const [id, timer] = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]!;
    this.timers.delete(id);
    this.t = timer.at + late;
    timer.fn();
  }
}

describe('TickScheduler', () => {
  it('ticks at once, then at t0 + k*interval with no drift from late timers or slow ticks', () => {
    const clock = new FakeClock();
    const at: [number, number][] = [];
    const work = [0, 40, 150, 0]; // ms each tick takes
    const s = new TickScheduler(
      200,
      (k) => {
        at.push([k, clock.now()]);
        clock.t += work[k] ?? 0;
      },
      clock,
    );
    s.start();
    clock.fire(3); // late
    clock.fire(1);
    clock.fire();
    expect(at).toEqual([
      [0, 1000],
      [1, 1203],
      [2, 1401],
      [3, 1600],
    ]);
    expect(clock.timers.size).toBe(1);
  });

  it('skips ticks it missed instead of bunching them', () => {
    const clock = new FakeClock();
    const ks: number[] = [];
    const s = new TickScheduler(
      100,
      (k) => {
        ks.push(k);
        if (k === 1) clock.t += 350; // tick 1 took 3.5 intervals
      },
      clock,
    );
    s.start();
    clock.fire();
    clock.fire();
    expect(ks).toEqual([0, 1, 5]);
    expect(clock.t).toBe(1500);
  });

  it('never repeats a tick when a timer fires early', () => {
    const clock = new FakeClock();
    const ks: number[] = [];
    const s = new TickScheduler(100, (k) => ks.push(k), clock);
    s.start();
    const [id, t] = [...clock.timers.entries()][0]!;
    clock.timers.delete(id);
    clock.t = t.at - 1; // a millisecond early
    t.fn();
    clock.fire();
    expect(ks).toEqual([0, 1, 2]);
    expect(clock.t).toBe(1199 + 1); // tick 2 at t0 + 200
  });

  it('never repeats a tick when t0 is fractional and a timer fires right on time (floating point)', () => {
    // performance.now() is fractional: (t0 + k*interval - t0) / interval can come out as k - 1e-16
    const clock = new FakeClock();
    clock.t = 614.310403;
    const ks: number[] = [];
    const s = new TickScheduler(1000, (k) => ks.push(k), clock);
    s.start();
    for (let i = 0; i < 40; i++) clock.fire();
    s.stop();
    expect(ks).toEqual(Array.from({ length: 41 }, (_, k) => k));
  });

  it('stop() leaves no timer: an executor with no stream does no periodic work', () => {
    const clock = new FakeClock();
    const s = new TickScheduler(50, () => undefined, clock);
    s.start();
    clock.fire();
    expect(clock.timers.size).toBe(1);
    s.stop();
    expect(clock.timers.size).toBe(0);
    expect(s.active).toBe(false);
  });

  it('an error in a tick stops the schedule and is reported', () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const s = new TickScheduler(
      50,
      (k) => {
        if (k === 2) throw new Error('cgroup gone');
      },
      clock,
      (e) => errors.push(e),
    );
    s.start();
    clock.fire();
    clock.fire();
    expect(errors).toHaveLength(1);
    expect(clock.timers.size).toBe(0);
  });

  it('checkInterval: 0 or absent is Nomad\'s 1 s; nonsense is refused', () => {
    expect(checkInterval(undefined)).toBe(1000);
    expect(checkInterval(0)).toBe(1000);
    expect(checkInterval(2000)).toBe(2000);
    expect(() => checkInterval(-5)).toThrow(/intervalMs/);
    expect(() => checkInterval('1s')).toThrow(/intervalMs/);
  });
});
