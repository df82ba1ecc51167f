import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Container } from '../../../lib/container/container';
import { create } from '../../../lib/container/create';
import { remove } from '../../../lib/container/delete';
import { kill } from '../../../lib/container/kill';
import type { Runtime } from '../../../lib/container/runtime';
import { start } from '../../../lib/container/start';
import { state } from '../../../lib/container/state';
import { HullError } from '../../../lib/errors';
import { type RecordingCgroups, type RecordingSyscalls, recordingRuntime } from '../../helpers/recording-syscalls';
import { tmpBundle } from '../../helpers/unit-bundle';

let root: string;
let sys: RecordingSyscalls;
let cgroups: Map<string, RecordingCgroups>;
let rt: Runtime;
const cleanups: (() => void)[] = [];

function bundle(edit?: Parameters<typeof tmpBundle>[0]): string {
  const b = tmpBundle(edit);
  cleanups.push(b.cleanup);
  return b.dir;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-unit-root-'));
  ({ rt, sys, cgroups } = recordingRuntime(root));
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  while (cleanups.length) cleanups.pop()!();
});

describe('create', () => {
  it('makes the cgroups before the init, and hands it their cgroup.procs files', async () => {
    const pidFile = path.join(root, 'pid');
    const { record } = await create(rt, { id: 'c1', bundle: bundle(), pidFile });
    const cg = cgroups.get('c1')!;
    expect(cg.calls).toEqual(['create', 'apply']);
    const spawn = sys.calls.find((c) => c.name === 'spawn')!;
    const plan = spawn.args[0] as { cgroupProcs: string[]; fifoPath: string; stdio: number[] };
    expect(plan.cgroupProcs).toEqual(cg.procsFiles());
    expect(plan.fifoPath).toBe(path.join(root, 'c1', 'exec.fifo'));
    expect(plan.stdio).toEqual([-1, -1, -1]);
    expect(record.status).toBe('created');
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(record.pid));
    expect(state(rt, 'c1')).toMatchObject({ status: 'created', pid: record.pid, id: 'c1' });
  });

  it('adds the default device rules after the config deny-all, so /dev/null can be made', async () => {
    await create(rt, { id: 'c1', bundle: bundle() });
    const devices = (cgroups.get('c1')!.applied[0] as { devices: { allow: boolean; access?: string }[] }).devices;
    expect(devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
  });

  it('refuses a bad config before anything exists', async () => {
    const dir = bundle((s) => s.mounts!.push({ destination: 'relative/path', type: 'tmpfs', source: 'tmpfs' }));
    await expect(create(rt, { id: 'bad', bundle: dir })).rejects.toMatchObject({ code: 'EINVALIDCONFIG', field: 'mounts[7].destination' });
    expect(sys.calls).toEqual([]);
    expect(cgroups.size).toBe(0);
    expect(fs.existsSync(path.join(root, 'bad'))).toBe(false);
  });

  it('removes the cgroups and the state when the init fails to set up', async () => {
    sys.failOn('spawn', new HullError('mount `/x` on `/r/x`: no such file or directory', { code: 'ENOENT', errno: 2, step: 'mount' }));
    await expect(create(rt, { id: 'c1', bundle: bundle() })).rejects.toMatchObject({ code: 'ENOENT', step: 'mount' });
    expect(cgroups.get('c1')!.destroyed).toBe(true);
    expect(fs.existsSync(path.join(root, 'c1'))).toBe(false);
  });

  it('refuses an id that exists, and leaves the first container alone', async () => {
    await create(rt, { id: 'c1', bundle: bundle() });
    await expect(create(rt, { id: 'c1', bundle: bundle() })).rejects.toMatchObject({ code: 'EEXISTS' });
    expect(state(rt, 'c1').status).toBe('created');
  });

  it('refuses ids that are not plain names', async () => {
    await expect(create(rt, { id: '../x', bundle: bundle() })).rejects.toMatchObject({ code: 'EINVALIDARG', field: 'id' });
  });

  it('needs a console socket for a terminal', async () => {
    const dir = bundle((s) => (s.process!.terminal = true));
    await expect(create(rt, { id: 'c1', bundle: dir })).rejects.toMatchObject({ field: 'process.terminal' });
    expect(fs.existsSync(path.join(root, 'c1'))).toBe(false);
  });
});

describe('start', () => {
  it('releases the init through exec.fifo, then the container runs', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    expect(sys.names()).toEqual(expect.arrayContaining(['pidfdOpen', 'release', 'close']));
    const rel = sys.calls.find((c) => c.name === 'release')!;
    expect(rel.args[0]).toBe(path.join(root, 'c1', 'exec.fifo'));
    expect(fs.existsSync(path.join(root, 'c1', 'exec.fifo'))).toBe(false);
    expect(state(rt, 'c1')).toMatchObject({ status: 'running', pid: record.pid });
  });

  it('refuses to start twice', async () => {
    await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    expect(() => start(rt, 'c1')).toThrow(expect.objectContaining({ code: 'ESTATE', message: expect.stringMatching(/it is running, not created/) }));
  });

  it('reports a container that does not exist as podman expects', () => {
    expect(() => start(rt, 'nope')).toThrow(expect.objectContaining({ code: 'ENOTFOUND', message: 'container `nope` does not exist' }));
  });
});

describe('state', () => {
  it('is stopped once the init has exited, and after pid reuse', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    sys.procs.get(record.pid)!.stat = { state: 'S', startTime: 1 }; // another process took the pid
    expect(state(rt, 'c1')).toMatchObject({ status: 'stopped', pid: 0 });
  });
});

describe('kill', () => {
  it('signals the init by pidfd, with names or numbers', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    kill(rt, 'c1', 'USR1');
    kill(rt, 'c1', '15');
    const sigs = sys.calls.filter((c) => c.name === 'signal').map((c) => c.args);
    expect(sigs).toEqual([
      [record.pid + 100_000, 10],
      [record.pid + 100_000, 15],
    ]);
  });

  it('refuses an unknown signal, naming it', async () => {
    await create(rt, { id: 'c1', bundle: bundle() });
    expect(() => kill(rt, 'c1', 'SIGFOO')).toThrow(expect.objectContaining({ code: 'EINVALIDARG', message: 'unknown signal `SIGFOO`' }));
  });

  it('says "container not running" for a stopped one', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    sys.exit(record.pid, { exitCode: 0, signal: null, coreDumped: false });
    expect(() => kill(rt, 'c1', 'KILL')).toThrow(/container not running/);
  });
});

describe('delete', () => {
  it('refuses a running container without force, naming its status', async () => {
    await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    await expect(remove(rt, 'c1')).rejects.toMatchObject({ code: 'ESTATE', message: expect.stringMatching(/it is running/) });
  });

  it('with force kills the init, destroys the cgroups and removes the state', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    start(rt, 'c1');
    await remove(rt, 'c1', true);
    expect(sys.calls.filter((c) => c.name === 'signal').map((c) => c.args[1])).toEqual([9]);
    expect(sys.procs.get(record.pid)!.stat.state).toBe('Z');
    expect(cgroups.get('c1')!.destroyed).toBe(true);
    expect(fs.existsSync(path.join(root, 'c1'))).toBe(false);
  });

  it('deletes a stopped container without force', async () => {
    const { record } = await create(rt, { id: 'c1', bundle: bundle() });
    sys.exit(record.pid, { exitCode: 0, signal: null, coreDumped: false });
    await remove(rt, 'c1');
    expect(fs.existsSync(path.join(root, 'c1'))).toBe(false);
  });
});

describe('Container', () => {
  it('reports an OOM kill that the container\'s cgroup counted', async () => {
    const c = await Container.create({ id: 'c1', bundle: bundle(), runtime: rt });
    c.start();
    cgroups.get('c1')!.oomKills = 1;
    sys.exit(c.pid, { exitCode: null, signal: 9, coreDumped: false });
    await expect(c.wait()).resolves.toMatchObject({ status: 137, oomKilled: true });
    await c.delete();
  });

  it('starts through the pidfd it holds since create, and keeps it for kill and wait', async () => {
    const c = await Container.create({ id: 'c1', bundle: bundle(), runtime: rt });
    const pidfd = c.pid + 100_000; // what the double's spawn gives
    sys.calls.length = 0;
    c.start();
    expect(sys.names()).not.toContain('pidfdOpen');
    expect(sys.names()).not.toContain('close');
    const rel = sys.calls.find((x) => x.name === 'release')!;
    expect(rel.args[1]).toBe(pidfd);
    c.kill('TERM');
    expect(sys.calls.find((x) => x.name === 'signal')?.args[0]).toBe(rel.args[1]);
    sys.exit(c.pid, { exitCode: 0, signal: null, coreDumped: false });
    await c.wait();
    await c.delete();
  });

  it('gives every waiter the same result, with 128+N for a signal', async () => {
    const c = await Container.create({ id: 'c1', bundle: bundle(), runtime: rt });
    c.start();
    const a = c.wait();
    c.kill('KILL');
    const b = c.wait();
    await expect(a).resolves.toMatchObject({ signal: 9, exitCode: null, status: 137, oomKilled: false });
    await expect(b).resolves.toMatchObject({ status: 137 });
    await c.delete();
    expect(sys.calls.filter((x) => x.name === 'close').length).toBeGreaterThan(0);
  });
});
