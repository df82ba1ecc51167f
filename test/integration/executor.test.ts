/**
 * The executor end to end, as root: a real executor process per test (started from dist/), in
 * both isolation modes: exit codes and signals, the task's exact environment and user, shutdown
 * with a grace period, stats at the interval asked, the executor outside the task's cgroups, and
 * no executor left behind a failed launch. Agent/executor death and reattach are in
 * executor-reattach.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecCommand, Isolation, TaskResourceUsage } from '../../lib/executor';
import { launchExecutor, startExecutor } from '../../lib/executor';
import { procAlive } from '../../lib/executor/proc';
import { alive, catchesSignal, describeContainers, findCgroups, pidsInCgroupsNamed, waitFor } from '../helpers/host';
import { TASK_PATH, executorPidsUnder, executorSuite, firstSample, readLogs, sampleUntil, type Workspace } from './fixtures/executor-helpers';

jest.setTimeout(20_000);

const suite = executorSuite();

function shCmd(ws: Workspace, script: string, extra: Partial<ExecCommand> = {}): ExecCommand {
  return {
    cmd: '/bin/sh',
    args: ['-c', script],
    env: [TASK_PATH],
    taskDir: ws.taskDir,
    stdout: path.join(ws.logDir, 'task.stdout'),
    stderr: path.join(ws.logDir, 'task.stderr'),
    ...extra,
  };
}

const MODES: Isolation[] = ['universal', 'isolated'];

for (const mode of MODES) {
  describeContainers(`executor (${mode})`, () => {
    it('launch returns the running task; wait gives its exit code, to every caller, again and again', async () => {
      const ws = suite.workspace(`code-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      const { pid } = await ex.launch(shCmd(ws, 'echo out; echo err >&2; exit 3'));
      expect(pid).toBeGreaterThan(0);
      const [a, b] = await Promise.all([ex.wait(), ex.wait()]);
      expect(a).toEqual({ exitCode: 3, signal: null, oomKilled: false, status: 3 });
      expect(b).toEqual(a);
      expect(await ex.wait()).toEqual(a);
      await ex.shutdown();
      expect(await ex.wait()).toEqual(a);
      expect(readLogs(path.join(ws.logDir, 'task.stdout'))).toBe('out\n');
      expect(readLogs(path.join(ws.logDir, 'task.stderr'))).toBe('err\n');
    });

    it('no_new_privs is on unless the task turns it off', async () => {
      for (const [nnp, want] of [[undefined, '1'], [false, '0']] as const) {
        const ws = suite.workspace(`nnp-${mode[0]}-${want}`);
        const ex = await suite.start(ws, mode);
        await ex.launch(shCmd(ws, 'grep NoNewPrivs /proc/self/status', nnp === undefined ? {} : { noNewPrivileges: nnp }));
        await ex.wait();
        await ex.shutdown();
        expect(readLogs(path.join(ws.logDir, 'task.stdout'))).toBe(`NoNewPrivs:\t${want}\n`);
      }
    });

    it('death by signal N is signal N and status 128+N', async () => {
      const ws = suite.workspace(`sig-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      if (mode === 'universal') {
        await ex.launch(shCmd(ws, 'kill -TERM $$; sleep 5'));
        expect(await ex.wait()).toEqual({ exitCode: null, signal: 15, oomKilled: false, status: 143 });
      } else {
        // the init of a pid namespace ignores signals it has no handler for, except SIGKILL from outside
        await ex.launch(shCmd(ws, 'exec sleep 30'));
        await ex.signal('SIGKILL');
        expect(await ex.wait()).toEqual({ exitCode: null, signal: 9, oomKilled: false, status: 137 });
      }
    });

    it('signal() reaches the lead process', async () => {
      const ws = suite.workspace(`sigl-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      // with the host's pid namespace the lead is not an init: SIGUSR1's default action applies
      const { pid } = await ex.launch(shCmd(ws, 'exec sleep 30', mode === 'isolated' ? { pidMode: 'host' } : {}));
      await waitFor('the task to exec sleep', () => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
      await ex.signal('SIGUSR1');
      expect(await ex.wait()).toMatchObject({ signal: 10, status: 138 });
      await expect(ex.signal('SIGNOPE')).rejects.toThrow(/unknown signal/);
    });

    it('the environment is exactly the one given: nothing of the executor or of jest', async () => {
      const ws = suite.workspace(`env-${mode[0]}`);
      process.env.HULL_TEST_MARKER = 'leak-me-not';
      const ex = await suite.start(ws, mode);
      const env = [TASK_PATH, 'ONE=1', 'SPACES=a b  c', 'EMPTY='];
      await ex.launch({ cmd: '/usr/bin/env', env, taskDir: ws.taskDir, stdout: path.join(ws.logDir, 'env') });
      expect((await ex.wait()).status).toBe(0);
      await ex.shutdown();
      expect(readLogs(path.join(ws.logDir, 'env')).split('\n').filter(Boolean)).toEqual(env);
    });

    it('user 65534: uid, gid and no group 0; additional groups exactly as given', async () => {
      const ws = suite.workspace(`user-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      await ex.launch(shCmd(ws, 'id -u; id -g; id -G', { user: { uid: 65534, gid: 65534, additionalGids: [4242, 100] } }));
      expect((await ex.wait()).status).toBe(0);
      await ex.shutdown();
      const [uid, gid, groups] = readLogs(path.join(ws.logDir, 'task.stdout')).trim().split('\n');
      expect(uid).toBe('65534');
      expect(gid).toBe('65534');
      expect(groups!.split(' ').sort()).toEqual(['100', '4242', '65534']);

      const ws2 = suite.workspace(`user2-${mode[0]}`);
      const ex2 = await suite.start(ws2, mode);
      await ex2.launch(shCmd(ws2, 'id -u; id -G', { user: 'nobody' }));
      expect((await ex2.wait()).status).toBe(0);
      await ex2.shutdown();
      const [uid2, groups2] = readLogs(path.join(ws2.logDir, 'task.stdout')).trim().split('\n');
      expect(uid2).toBe('65534');
      expect(groups2!.split(' ')).not.toContain('0');
    });

    it('capabilities follow Nomad\'s rules: capAdd raises one for nobody; a cap not allowed is refused in the agent', async () => {
      const ws = suite.workspace(`cap-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      await ex.launch(
        shCmd(ws, 'grep -E "^Cap(Eff|Bnd)" /proc/self/status', { user: { uid: 65534, gid: 65534 }, capabilities: { capAdd: ['net_bind_service'], capDrop: ['kill'] } }),
      );
      expect((await ex.wait()).status).toBe(0);
      await ex.shutdown();
      const out = readLogs(path.join(ws.logDir, 'task.stdout'));
      expect(out).toContain('CapEff:\t0000000000000400');
      // the default set 0xa80405fb without CAP_KILL (bit 5)
      expect(out).toContain('CapBnd:\t00000000a80405db');
      const ws2 = suite.workspace(`cap2-${mode[0]}`);
      const ex2 = await suite.start(ws2, mode);
      await expect(ex2.launch(shCmd(ws2, 'true', { capabilities: { capAdd: ['sys_admin'] } }))).rejects.toThrow(/capabilities: .*sys_admin/i);
      await waitFor('the executor to exit', () => !procAlive(ex2.pid));
    });

    it('the executor stays in the agent\'s cgroups, never in the task\'s', async () => {
      const ws = suite.workspace(`cg-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      const { pid } = await ex.launch(shCmd(ws, 'sleep 30'));
      const dirs = findCgroups(ws.id);
      expect(dirs.length).toBeGreaterThan(0);
      for (const d of dirs) {
        const procs = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
        expect(procs).not.toContain(ex.pid);
        expect(procs).not.toContain(process.pid);
      }
      // every hierarchy of the task names its cgroup; none of the executor's does
      const taskLines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
      for (const l of taskLines) expect(l).toContain(ws.id);
      expect(fs.readFileSync(`/proc/${ex.pid}/cgroup`, 'utf8')).not.toContain(ws.id);
      expect(fs.readFileSync(`/proc/${ex.pid}/cgroup`, 'utf8')).toBe(fs.readFileSync('/proc/self/cgroup', 'utf8'));
      expect((await firstSample(ex)).pids).not.toContain(ex.pid);
      await ex.shutdown();
      expect(findCgroups(ws.id)).toEqual([]);
    });

    it('shutdown: a task that traps SIGINT exits on its own, before the grace period ends', async () => {
      const ws = suite.workspace(`trap-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      const { pid } = await ex.launch(shCmd(ws, 'trap "echo got-int; exit 7" INT; while :; do sleep 0.05; done'));
      await waitFor('the trap', () => catchesSignal(pid, 2));
      const t0 = Date.now();
      await ex.shutdown({ signal: 'SIGINT', gracePeriodMs: 8000 });
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await ex.wait()).toEqual({ exitCode: 7, signal: null, oomKilled: false, status: 7 });
      expect(readLogs(path.join(ws.logDir, 'task.stdout'))).toBe('got-int\n');
      expect(findCgroups(ws.id)).toEqual([]);
      expect(procAlive(ex.pid)).toBe(false);
      // safe to call twice, and unknown signals are refused
      await ex.shutdown();
      await expect(ex.shutdown({ signal: 'SIGBOGUS' })).rejects.toThrow(/unknown signal/);
    });

    it('shutdown: a task that ignores SIGINT is SIGKILLed after the grace period, with every child', async () => {
      const ws = suite.workspace(`ign-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      const { pid } = await ex.launch(shCmd(ws, 'trap "" INT; sleep 1000 & sleep 1000 & (trap "" INT; sleep 1000) & while :; do sleep 1; done'));
      const s = await sampleUntil(ex, (x) => x.pids.length >= 5);
      const pids = s.pids;
      expect(pids).toContain(pid);
      const t0 = Date.now();
      await ex.shutdown({ signal: 'SIGINT', gracePeriodMs: 600 });
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(550);
      expect(took).toBeLessThan(4000);
      expect(await ex.wait()).toMatchObject({ signal: 9, status: 137 });
      for (const p of pids) expect(alive(p)).toBe(false);
      expect(findCgroups(ws.id)).toEqual([]);
      // (zombies of the killed children, reparented to init, may linger a moment: they are dead)
      expect(pidsInCgroupsNamed(ws.id).filter(alive)).toEqual([]);
    });

    it('wait follows the lead process, not a child that keeps stdout open', async () => {
      const ws = suite.workspace(`kid-${mode[0]}`);
      const ex = await suite.start(ws, mode === 'isolated' ? 'isolated' : 'universal');
      const t0 = Date.now();
      // with a private pid namespace the child dies with the init; in the host's it lives on
      await ex.launch(shCmd(ws, '(sleep 30; echo late) & echo early; exit 0', mode === 'isolated' ? { pidMode: 'host' } : {}));
      expect((await ex.wait()).status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      await ex.shutdown();
      expect(readLogs(path.join(ws.logDir, 'task.stdout'))).toBe('early\n');
    });

    it('a failed launch leaves no executor process and no cgroup behind', async () => {
      // refused in the agent: the executor made for it exits
      const ws = suite.workspace(`val-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      await expect(ex.launch(shCmd(ws, 'true', { taskDir: '/nonexistent/hull-test' }))).rejects.toThrow(/taskDir/);
      await waitFor('the executor to exit', () => !procAlive(ex.pid));
      expect(executorPidsUnder(ws.base.dir)).toEqual([]);
      // refused in the executor (the binary is missing): it answers, then exits
      const ws2 = suite.workspace(`val2-${mode[0]}`);
      const ex2 = await suite.start(ws2, mode);
      await expect(ex2.launch({ cmd: '/nonexistent/hull-binary', taskDir: ws2.taskDir, env: [TASK_PATH] })).rejects.toThrow(/hull-binary/);
      await waitFor('the executor to exit', () => !procAlive(ex2.pid));
      expect(executorPidsUnder(ws2.base.dir)).toEqual([]);
      expect(findCgroups(ws2.id)).toEqual([]);
    });

    it('updateResources applies limits to the running task; version answers', async () => {
      const ws = suite.workspace(`upd-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      await ex.launch(shCmd(ws, 'sleep 30'));
      await ex.updateResources({ pids: { limit: 42 } });
      expect((await firstSample(ex)).stats.pids.limit).toBe(42);
      expect(await ex.version()).toEqual({ version: expect.any(String), protocol: 1 });
    });
  });
}

describeContainers('executor stats', () => {
  /** fds of this process open on files under the task's cgroups */
  function fdsOnCgroups(id: string): string[] {
    return fs
      .readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((l) => l.startsWith('/sys/fs/cgroup/') && l.includes(id));
  }

  async function spacing(mode: Isolation, intervalMs: number, count: number, sampler: 'agent' | 'executor'): Promise<void> {
    const ws = suite.workspace(`st${intervalMs}-${mode[0]}${sampler[0]}`);
    const ex = await suite.start(ws, mode);
    const { pid } = await ex.launch(shCmd(ws, 'while :; do :; done'));
    const samples: TaskResourceUsage[] = [];
    const arrived: number[] = [];
    for await (const s of ex.stats({ intervalMs, sampler })) {
      samples.push(s);
      arrived.push(performance.now());
      if (samples.length === count) break;
    }
    const t0 = samples[0]!.timestamp;
    samples.forEach((s, k) => {
      // each sample at t0 + k*interval, as the sampler took it and as the agent got it
      expect(Math.abs(s.timestamp - t0 - k * intervalMs)).toBeLessThanOrEqual(50);
      expect(Math.abs(arrived[k]! - arrived[0]! - k * intervalMs)).toBeLessThanOrEqual(50);
      expect(s.pids).toContain(pid);
      expect(s.stats.cpu.totalNs).toBeGreaterThan(0);
    });
    expect(samples[0]!.cpuPercent).toBe(0);
    // a busy loop: about one core
    expect(samples[count - 1]!.cpuPercent).toBeGreaterThan(50);
    expect(samples[count - 1]!.cpuPercent).toBeLessThan(130);
    // breaking off the loop stopped the sampling where it ran; a new stream starts again at once
    const log = path.join(ws.stateDir, 'executor.log');
    if (sampler === 'executor') {
      await waitFor('the stream to close', () => fs.readFileSync(log, 'utf8').includes('stats stream closed'));
    } else {
      expect(fs.readFileSync(log, 'utf8')).not.toContain('stats stream opened');
      expect(fdsOnCgroups(ws.id)).toEqual([]);
    }
    expect((await firstSample(ex)).pids).toContain(pid);
  }

  it('at 200 ms: first sample at once, then every 200 ms on the dot (sampled in the agent)', () => spacing('universal', 200, 8, 'agent'));
  it('at 200 ms, sampled in the executor', () => spacing('universal', 200, 8, 'executor'));
  it('at 2 s (isolated, in the agent)', () => spacing('isolated', 2000, 3, 'agent'), 20_000);
  it('at 300 ms (isolated, in the executor)', () => spacing('isolated', 300, 4, 'executor'));

  it('the agent stream ends with the executor: at shutdown, with no fd left on the cgroups', async () => {
    const ws = suite.workspace('stend');
    const ex = await suite.start(ws, 'universal');
    await ex.launch(shCmd(ws, 'sleep 30'));
    const it = ex.stats({ intervalMs: 50 })[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    expect(fdsOnCgroups(ws.id).length).toBeGreaterThan(0);
    await ex.shutdown();
    // samples taken before the shutdown may still be queued; then the stream ends
    let end: IteratorResult<TaskResourceUsage> | Error;
    do end = await it.next().catch((e: Error) => e);
    while (!(end instanceof Error) && !end.done);
    expect(end).toMatchObject({ code: 'ENOTCONN' });
    expect(fdsOnCgroups(ws.id)).toEqual([]);
    expect(findCgroups(ws.id)).toEqual([]);
  });

  it('bad stats options are refused, naming the field', async () => {
    const ws = suite.workspace('stbad');
    const ex = await suite.start(ws, 'universal');
    await ex.launch(shCmd(ws, 'sleep 30'));
    for (const sampler of ['agent', 'executor'] as const) {
      await expect(ex.stats({ intervalMs: 1, sampler })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ field: 'intervalMs' });
    }
    await expect(ex.stats({ sampler: 'nowhere' as 'agent' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ field: 'sampler' });
    expect(fdsOnCgroups(ws.id)).toEqual([]);
  });

  it('two streams at once, each at its own interval', async () => {
    const ws = suite.workspace('st2');
    const ex = await suite.start(ws, 'universal');
    await ex.launch(shCmd(ws, 'sleep 30'));
    const take = async (intervalMs: number, n: number): Promise<number[]> => {
      const out: number[] = [];
      for await (const s of ex.stats({ intervalMs })) if (out.push(s.timestamp) === n) break;
      return out;
    };
    const [fast, slow] = await Promise.all([take(100, 7), take(300, 3)]);
    expect(fast[6]! - fast[0]!).toBeGreaterThan(550);
    expect(fast[6]! - fast[0]!).toBeLessThan(650);
    expect(slow[2]! - slow[0]!).toBeGreaterThan(550);
    expect(slow[2]! - slow[0]!).toBeLessThan(650);
  });
});

describeContainers('startExecutor', () => {
  it('launchExecutor validates the command before any executor exists', async () => {
    const ws = suite.workspace('pre');
    await expect(launchExecutor({ isolation: 'universal', stateDir: ws.stateDir, id: ws.id }, shCmd(ws, 'true', { user: 'no-such-user-hull' }))).rejects.toMatchObject({
      code: 'ENOTFOUND',
      field: 'user',
    });
    expect(fs.existsSync(ws.stateDir)).toBe(false);
    expect(executorPidsUnder(ws.base.dir)).toEqual([]);
    const { executor, pid } = await launchExecutor({ isolation: 'universal', stateDir: ws.stateDir, id: ws.id }, shCmd(ws, 'exit 4'));
    suite.track(executor);
    expect(pid).toBeGreaterThan(0);
    expect((await executor.wait()).status).toBe(4);
  });

  it('refuses bad options before spawning anything', async () => {
    await expect(startExecutor({ isolation: 'chroot' as Isolation, stateDir: '/tmp/x' })).rejects.toThrow(/isolation/);
    await expect(startExecutor({ isolation: 'universal', stateDir: 'relative' })).rejects.toThrow(/stateDir/);
  });
});
