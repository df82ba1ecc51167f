import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { create } from '../../../lib/container/create';
import { type ContainerEvent, events, nextTick, parseDuration, runcStats } from '../../../lib/container/events';
import { pause, resume } from '../../../lib/container/pause';
import type { Runtime } from '../../../lib/container/runtime';
import { start } from '../../../lib/container/start';
import { state } from '../../../lib/container/state';
import { parseMemory, parseResourcesJson, resourcesFromFlags, update } from '../../../lib/container/update';
import { type RecordingCgroups, type RecordingSyscalls, recordingRuntime } from '../../helpers/recording-syscalls';
import { tmpBundle } from '../../helpers/unit-bundle';

let root: string;
let sys: RecordingSyscalls;
let cgroups: Map<string, RecordingCgroups>;
let rt: Runtime;
const cleanups: (() => void)[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-unit-root-'));
  ({ rt, sys, cgroups } = recordingRuntime(root));
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  while (cleanups.length) cleanups.pop()!();
});

async function running(id = 'c1'): Promise<{ pid: number; cg: RecordingCgroups }> {
  const b = tmpBundle();
  cleanups.push(b.cleanup);
  const { record } = await create(rt, { id, bundle: b.dir });
  start(rt, id);
  const cg = cgroups.get(id)!;
  cg.calls.length = 0;
  cg.applied = [];
  return { pid: record.pid, cg };
}

describe('pause and resume', () => {
  it('freezes a running container, which then reads paused, and thaws it back to running', async () => {
    const { cg } = await running();
    await pause(rt, 'c1');
    expect(cg.calls).toEqual(['freeze']);
    expect(state(rt, 'c1').status).toBe('paused');
    await resume(rt, 'c1');
    expect(cg.calls).toEqual(['freeze', 'thaw']);
    expect(state(rt, 'c1').status).toBe('running');
  });

  it('pauses a created container too (as runc does)', async () => {
    const b = tmpBundle();
    cleanups.push(b.cleanup);
    await create(rt, { id: 'c2', bundle: b.dir });
    await pause(rt, 'c2');
    expect(state(rt, 'c2').status).toBe('paused');
  });

  it('refuses to pause a paused or stopped container, and to resume one not paused, touching nothing', async () => {
    const { pid, cg } = await running();
    await expect(resume(rt, 'c1')).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/it is running, not paused/) });
    await pause(rt, 'c1');
    await expect(pause(rt, 'c1')).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/it is paused/) });
    await resume(rt, 'c1');
    sys.exit(pid, { exitCode: 0, signal: null, coreDumped: false });
    await expect(pause(rt, 'c1')).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/it is stopped/) });
    await expect(resume(rt, 'c1')).rejects.toMatchObject({ code: 'ESTATE' });
    expect(cg.calls).toEqual(['freeze', 'thaw']);
  });

  it('says which container does not exist', async () => {
    await expect(pause(rt, 'nope')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('state and OOM', () => {
  it('adds oomKilled only once the counter is above zero', async () => {
    const { cg } = await running();
    expect(state(rt, 'c1')).not.toHaveProperty('oomKilled');
    cg.oomKills = 1;
    expect(state(rt, 'c1')).toMatchObject({ oomKilled: true, status: 'running' });
  });
});

describe('update', () => {
  it('applies the parsed flags to a running container', async () => {
    const { cg } = await running();
    update(rt, 'c1', resourcesFromFlags({ memory: '64m', 'pids-limit': '10', 'cpu-quota': '50000', 'cpu-period': '100000' }));
    expect(cg.applied).toEqual([{ memory: { limit: 64 * 2 ** 20 }, pids: { limit: 10 }, cpu: { quota: 50000, period: 100000 } }]);
  });

  it('refuses a bad value naming the field, and applies nothing', async () => {
    const { cg } = await running();
    expect(() => update(rt, 'c1', { cpu: { shares: 1 } })).toThrow(expect.objectContaining({ code: 'EINVALIDCONFIG', field: 'linux.resources.cpu.shares' }));
    expect(() => update(rt, 'c1', { memory: { limit: 10 * 2 ** 20, swap: 2 ** 20 } })).toThrow(
      expect.objectContaining({ field: 'linux.resources.memory.swap' }),
    );
    expect(() => update(rt, 'c1', { cpu: { cpus: '0-' } })).toThrow(expect.objectContaining({ field: 'linux.resources.cpu.cpus' }));
    expect(cg.calls).toEqual([]);
  });

  it('refuses bad flag values naming the flag', () => {
    expect(() => resourcesFromFlags({ memory: '64x' })).toThrow(expect.objectContaining({ code: 'EINVALIDARG', message: expect.stringMatching(/^--memory:/) }));
    expect(() => resourcesFromFlags({ 'cpu-shares': '-5' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^--cpu-shares:/) }));
    expect(() => resourcesFromFlags({ 'pids-limit': 'ten' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^--pids-limit:/) }));
    expect(() => parseResourcesJson('{', 'stdin')).toThrow(expect.objectContaining({ message: expect.stringMatching(/^--resources: stdin is not JSON/) }));
    expect(() => parseResourcesJson('[1]', 'stdin')).toThrow(expect.objectContaining({ field: '--resources' }));
  });

  it('lays flags over --resources JSON', () => {
    const base = parseResourcesJson('{"memory":{"limit":1000000,"reservation":5},"pids":{"limit":3}}', 'f');
    expect(resourcesFromFlags({ memory: '2m', 'cpuset-cpus': '0' }, base)).toEqual({
      memory: { limit: 2 * 2 ** 20, reservation: 5 },
      pids: { limit: 3 },
      cpu: { cpus: '0' },
    });
  });

  it('refuses a stopped container', async () => {
    const { pid, cg } = await running();
    sys.exit(pid, { exitCode: 0, signal: null, coreDumped: false });
    expect(() => update(rt, 'c1', { pids: { limit: 5 } })).toThrow(expect.objectContaining({ code: 'ESTATE', message: expect.stringMatching(/stopped/) }));
    expect(cg.calls).toEqual([]);
  });

  it('parses sizes like runc (binary suffixes, -1 unlimited)', () => {
    expect(parseMemory('1024', '--memory')).toBe(1024);
    expect(parseMemory('64m', '--memory')).toBe(64 * 2 ** 20);
    expect(parseMemory('64M', '--memory')).toBe(64 * 2 ** 20);
    expect(parseMemory('1g', '--memory')).toBe(2 ** 30);
    expect(parseMemory('512KiB', '--memory')).toBe(512 * 1024);
    expect(parseMemory('1.5k', '--memory')).toBe(1536);
    expect(parseMemory('-1', '--memory-swap')).toBe(-1);
    for (const bad of ['', 'm', '64mm', '-2', '1e3', '0x10']) expect(() => parseMemory(bad, '--memory')).toThrow(/--memory: invalid size/);
  });
});

describe('parseDuration (Go)', () => {
  it.each([
    ['200ms', 200],
    ['1s', 1000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['100us', 0.1],
    ['100µs', 0.1],
    ['100μs', 0.1], // U+03BC, Greek mu
    ['1000000ns', 1],
    ['0', 0],
    ['-2s', -2000],
    ['+3ms', 3],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', '1x', 's', '1.s.', '1 s', 'ms', '1s2', '--1s', '1S'])('refuses %j naming the flag', (text) => {
    expect(() => parseDuration(text, '--interval')).toThrow(expect.objectContaining({ code: 'EINVALIDARG', message: expect.stringMatching(/^--interval: invalid duration/) }));
  });
});

describe('the tick schedule', () => {
  it('puts tick k at start + k*interval, whenever the previous one finished', () => {
    expect(nextTick(1000, 200, 1000)).toEqual({ k: 1, at: 1200 });
    expect(nextTick(1000, 200, 1199.9)).toEqual({ k: 1, at: 1200 });
    // the previous tick ran late (at 1237): the next is still at 1400, not 1437
    expect(nextTick(1000, 200, 1237)).toEqual({ k: 2, at: 1400 });
    expect(nextTick(1000, 200, 1400)).toEqual({ k: 3, at: 1600 });
  });

  it('skips ticks already missed instead of bunching them', () => {
    expect(nextTick(0, 100, 1050)).toEqual({ k: 11, at: 1100 });
  });

  it('never gives the last tick again, even when floating point puts "now" a hair before it', () => {
    const start = 614.310403;
    for (let k = 1; k < 50; k++) {
      const at = start + k * 1000;
      expect(nextTick(start, 1000, at, k).k).toBe(k + 1);
      expect(nextTick(start, 1000, at - 0.5, k).k).toBe(k + 1); // woke early
    }
  });

  it('refuses a non-positive interval', () => {
    expect(() => nextTick(0, 0, 0)).toThrow(/positive/);
  });

  it('drives events(): sleeps to the scheduled times, one reader for all ticks, stops with the container', async () => {
    const { pid, cg } = await running();
    cg.memberPids = [pid];
    let clock = 0;
    const wakes: number[] = [];
    const out: ContainerEvent[] = [];
    await events(rt, 'c1', {
      intervalMs: 200,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
        wakes.push(clock);
        clock += 37; // each tick's work takes a while
        if (wakes.length === 2) cg.oomKills = 1;
        if (wakes.length === 4) sys.exit(pid, { exitCode: 137, signal: null, coreDumped: false });
      },
      emit: (e) => out.push(e),
    });
    expect(wakes).toEqual([200, 400, 600, 800]);
    expect(out.map((e) => e.type)).toEqual(['stats', 'oom', 'stats', 'stats']);
    expect(out[0]).toMatchObject({ type: 'stats', id: 'c1', data: { pids: { current: 1, limit: 0 }, oomKills: 0 } });
    expect(cg.readers).toEqual([{ reads: 3, closed: true }]);
  });

  it('with stats, emits exactly one event', async () => {
    const { pid, cg } = await running();
    cg.memberPids = [pid, pid + 1];
    const out: ContainerEvent[] = [];
    await events(rt, 'c1', { stats: true, emit: (e) => out.push(e) });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'stats', data: { pids: { current: 2 }, measured: ['pids.current'] } });
  });
});

describe('runcStats', () => {
  it("is runc's shape", () => {
    const d = runcStats({
      memory: { usage: 10, maxUsage: 20, rss: 3, cache: 4 },
      cpu: { totalNs: 100, userNs: 60, systemNs: 40, throttledPeriods: 2, throttledTimeNs: 9 },
      pids: { current: 1, limit: 10 },
      oomKills: 0,
      measured: ['memory.usage'],
    });
    expect(d).toMatchObject({
      cpu: { usage: { total: 100, user: 60, kernel: 40 }, throttling: { periods: 0, throttledPeriods: 2, throttledTime: 9 } },
      memory: { usage: { usage: 10, max: 20 }, stats: { rss: 3, cache: 4 } },
      pids: { current: 1, limit: 10 },
      measured: ['memory.usage'],
      oomKills: 0,
    });
  });
});
