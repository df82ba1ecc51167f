/**
 * The cgroup verbs end to end through `node bin/hull.js --root <tmp>` on a busybox bundle: pause/resume
 * (checked against the init's CPU time in /proc), update (read back from the cgroup), events, state.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuTicks, delay } from '../helpers/cgroup-host';
import { HULL_BIN, REPO, type HullResult, hull as hullIn, ok } from '../helpers/host';
import { type Bundle, type TempDir, makeBundle, stateRoot, uniqueId } from '../helpers/rootfs';

const canRun = process.getuid?.() === 0 && fs.existsSync('/bin/busybox') && fs.existsSync(path.join(REPO, 'dist/cli/main.js'));
const d = canRun ? describe : describe.skip;
jest.setTimeout(30_000);

let root: TempDir | undefined;
let bundle: Bundle | undefined;
const id = uniqueId();

/** `hull --root <the suite's root> ARGS`, `input` on its stdin. */
function hull(args: string[], input?: string): HullResult {
  return hullIn(root!.dir, args, { timeout: 15_000, ...(input === undefined ? {} : { input }) });
}

function stateOf(): { status: string; pid: number; oomKilled?: boolean } {
  return JSON.parse(ok(hull(['state', id])).stdout);
}

d('hull pause/resume/update/events', () => {
  let pid = 0;

  beforeAll(() => {
    root = stateRoot();
    // a busy loop, so that a frozen init is seen not to run
    bundle = makeBundle({ args: ['sh', '-c', 'while :; do :; done'] });
    ok(hull(['run', '-d', '-b', bundle.dir, id]));
    pid = stateOf().pid;
  });

  afterAll(() => {
    if (!root) return;
    try {
      hull(['delete', '-f', id]);
    } finally {
      bundle?.cleanup();
      root.cleanup();
    }
  });

  it('pauses: state and list say paused, and the init gets no CPU; resume runs it again', async () => {
    expect(stateOf().status).toBe('running');
    ok(hull(['pause', id]));
    expect(stateOf()).toMatchObject({ status: 'paused', pid });
    const list = JSON.parse(ok(hull(['list', '--format', 'json'])).stdout) as { id: string; status: string }[];
    expect(list.find((s) => s.id === id)?.status).toBe('paused');
    const before = cpuTicks(pid);
    await delay(300);
    expect(cpuTicks(pid)).toBe(before);
    // a second pause is refused
    expect(hull(['pause', id])).toMatchObject({ status: 1, stderr: expect.stringMatching(/it is paused/) });

    ok(hull(['resume', id]));
    expect(stateOf().status).toBe('running');
    const after = cpuTicks(pid);
    await delay(300);
    expect(cpuTicks(pid)).toBeGreaterThan(after);
    expect(hull(['resume', id])).toMatchObject({ status: 1, stderr: expect.stringMatching(/not paused/) });
  });

  it('update --pids-limit reads back from pids.max; a bad value changes nothing', () => {
    const paths = (JSON.parse(fs.readFileSync(path.join(root!.dir, id, 'state.json'), 'utf8')) as { cgroupPaths: Record<string, string> }).cgroupPaths;
    const pidsMax = path.join(paths.pids ?? paths.unified ?? '', 'pids.max');
    ok(hull(['update', '--pids-limit', '10', id]));
    expect(fs.readFileSync(pidsMax, 'utf8').trim()).toBe('10');
    expect(hull(['update', '--cpu-shares', '1', '--pids-limit', '20', id])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/cpu\.shares/),
    });
    expect(fs.readFileSync(pidsMax, 'utf8').trim()).toBe('10');
    ok(hull(['update', '--resources', '-', id], '{"pids":{"limit":12}}'));
    expect(fs.readFileSync(pidsMax, 'utf8').trim()).toBe('12');
    expect(hull(['update', '--memory', '64x', id])).toMatchObject({ status: 1, stderr: expect.stringMatching(/--memory: invalid size/) });
  });

  it('events --stats prints one runc-shaped JSON line', () => {
    const lines = ok(hull(['events', '--stats', id])).stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const e = JSON.parse(lines[0] as string);
    expect(e).toMatchObject({ type: 'stats', id, data: { pids: { current: expect.any(Number), limit: 12 } } });
    expect(e.data.pids.current).toBeGreaterThanOrEqual(1);
    expect(e.data.cpu.usage.total).toBeGreaterThan(0);
    expect(e.data.memory.usage.usage).toBeGreaterThan(0);
    expect(e.data.measured).toContain('pids.current');
    expect(stateOf()).not.toHaveProperty('oomKilled');
  });

  it('events --interval 200ms prints about 5 lines a second, on time', async () => {
    const child = spawn(process.execPath, [HULL_BIN, '--root', root!.dir, 'events', '--interval', '200ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const arrivals: number[] = [];
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      for (let i = 0; i < s.split('\n').length - 1; i++) arrivals.push(performance.now());
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const closed = new Promise((r) => child.on('close', r));
    try {
      // node's start-up takes a varying part of the first second: count from the first line on
      for (const until = Date.now() + 5000; arrivals.length === 0 && Date.now() < until; ) await delay(10);
      await delay(1100);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    expect(err).toBe('');
    const lines = out.trim().split('\n').filter(Boolean);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ type: 'stats', id });
    // the first line, then ticks at +200 ... +1000 ms
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(7);
    const t0 = arrivals[0] as number;
    // no drift: the k-th line comes near t0 + k*200, not later and later
    arrivals.forEach((t, k) => expect(Math.abs(t - t0 - k * 200)).toBeLessThan(100));
  });

  it('events exits when the container stops; update then refuses', async () => {
    const child = spawn(process.execPath, [HULL_BIN, '--root', root!.dir, 'events', '--interval', '100ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await delay(400);
    ok(hull(['kill', id, 'KILL']));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 3000)));
    const code = await Promise.race([closed, timeout]);
    clearTimeout(timer);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(hull(['update', '--pids-limit', '5', id])).toMatchObject({ status: 1, stderr: expect.stringMatching(/stopped/) });
    ok(hull(['delete', '-f', id]));
  });
});
