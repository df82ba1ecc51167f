/**
 * The executor across process deaths: the agent SIGKILLed while its task runs (a fresh process
 * reattaches, and wait, stats, shutdown and the task's logs are all intact), the executor
 * SIGKILLed (its task is killed and its cgroups removed, as docs/executor-protocol.md says), and
 * reattach refusing a pid that is not that executor (Nomad #23969).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Isolation, ReattachConfig } from '../../lib/executor';
import { reattachExecutor } from '../../lib/executor';
import { procAlive, procStartTime } from '../../lib/executor/proc';
import { alive, describeContainers, findCgroups, REPO, waitFor } from '../helpers/host';
import { executorPidsUnder, executorSuite, firstSample, readLogs, type Workspace } from './fixtures/executor-helpers';

jest.setTimeout(20_000);

const suite = executorSuite();

const AGENT = path.join(__dirname, 'fixtures/executor-agent.js');

/** Runs the fixture agent; resolves with what it printed, and its pid. */
async function runAgent(ws: Workspace, isolation: Isolation, script: string): Promise<{ agentPid: number; reattach: ReattachConfig; taskPid: number }> {
  const child = spawn(process.execPath, [AGENT, path.join(REPO, 'dist/index.js'), isolation, ws.stateDir, ws.id, ws.taskDir, ws.logDir, script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`agent exited: ${buf}`)));
  });
  const msg = JSON.parse(line) as { reattach: ReattachConfig; taskPid: number; error?: string };
  if (msg.error) throw new Error(msg.error);
  // the agent dies hard while its task runs
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  return { agentPid: child.pid!, reattach: msg.reattach, taskPid: msg.taskPid };
}

const COUNT_SCRIPT = 'i=0; while [ $i -lt 25 ]; do echo line-$i; i=$((i+1)); sleep 0.1; done; echo done >&2; exit 5';
const expectedLines = `${Array.from({ length: 25 }, (_, i) => `line-${i}\n`).join('')}`;

for (const mode of ['universal', 'isolated'] as Isolation[]) {
  describeContainers(`executor reattach (${mode})`, () => {
    it('the agent is SIGKILLed mid-task: a new process reattaches; wait, stats, shutdown and the logs are intact', async () => {
      const ws = suite.workspace(`agent-${mode[0]}`);
      const { reattach, taskPid, agentPid } = await runAgent(ws, mode, COUNT_SCRIPT);
      expect(alive(agentPid)).toBe(false);
      // the executor and its task run on without the agent
      expect(procAlive(reattach.pid)).toBe(true);
      expect(alive(taskPid)).toBe(true);
      // small, plain JSON
      expect(JSON.parse(JSON.stringify(reattach))).toEqual(reattach);
      expect(JSON.stringify(reattach).length).toBeLessThan(300);

      const ex = suite.track(await reattachExecutor(reattach));
      expect(ex.pid).toBe(reattach.pid);
      expect(ex.isolation).toBe(mode);
      expect((await firstSample(ex)).pids).toContain(taskPid);
      expect(await ex.wait()).toEqual({ exitCode: 5, signal: null, oomKilled: false, status: 5 });
      await ex.shutdown({ gracePeriodMs: 100 });
      expect(readLogs(path.join(ws.logDir, 'task.stdout'))).toBe(expectedLines);
      expect(readLogs(path.join(ws.logDir, 'task.stderr'))).toBe('done\n');
      await waitFor('the executor to exit', () => !procAlive(reattach.pid));
      expect(findCgroups(ws.id)).toEqual([]);
      // a second reattach to the exited executor is refused
      await expect(reattachExecutor(reattach)).rejects.toMatchObject({ code: 'ESTALE' });
    });

    it('the executor is SIGKILLed: its task and every child die, its cgroups are removed', async () => {
      const ws = suite.workspace(`exk-${mode[0]}`);
      const ex = await suite.start(ws, mode);
      const { pid } = await ex.launch({
        cmd: '/bin/sh',
        args: ['-c', 'sleep 1000 & sleep 1000 & while :; do sleep 1; done'],
        env: ['PATH=/usr/bin:/bin'],
        taskDir: ws.taskDir,
        // no private pid namespace: the children are not killed by the kernel with the lead
        ...(mode === 'isolated' ? { pidMode: 'host' as const } : {}),
      });
      let pids: number[] = [];
      for await (const s of ex.stats({ intervalMs: 50 })) {
        pids = s.pids;
        if (pids.length >= 4) break;
      }
      expect(pids).toContain(pid);
      process.kill(ex.pid, 'SIGKILL');
      await expect(ex.wait()).rejects.toMatchObject({ code: 'EEXECUTORDIED' });
      await waitFor('every task process to die', () => pids.every((p) => !alive(p)), 5000);
      expect(findCgroups(ws.id)).toEqual([]);
      expect(executorPidsUnder(ws.base.dir)).toEqual([]);
      // shutdown after that is harmless
      await ex.shutdown();
    });
  });
}

describeContainers('reattach refuses what is not the executor', () => {
  it('a pid now used by another process (a reused pid) is refused and left alone', async () => {
    const ws = suite.workspace('reuse');
    const other = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = other.pid!;
      await waitFor('sleep to start', () => procStartTime(pid));
      const fake: ReattachConfig = { protocol: 1, socket: path.join(ws.stateDir, 'executor.sock'), pid, startTime: procStartTime(pid)!, stateDir: ws.stateDir };
      await expect(reattachExecutor(fake)).rejects.toMatchObject({ code: 'ESTALE' });
      expect(alive(pid)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('the executor\'s pid with another start time (the pid was reused) is refused; the real executor is untouched', async () => {
    const ws = suite.workspace('stale');
    const ex = await suite.start(ws, 'universal');
    await ex.launch({ cmd: '/bin/sleep', args: ['30'], env: [], taskDir: ws.taskDir });
    const stale = { ...ex.reattachConfig, startTime: ex.reattachConfig.startTime - 1 };
    await expect(reattachExecutor(stale)).rejects.toMatchObject({ code: 'ESTALE' });
    expect(procAlive(ex.pid)).toBe(true);
    expect(findCgroups(ws.id).length).toBeGreaterThan(0);
    // and the right config still reattaches
    const again = suite.track(await reattachExecutor(ex.reattachConfig));
    expect((await firstSample(again)).pids.length).toBe(1);
    await again.shutdown();
    expect(findCgroups(ws.id)).toEqual([]);
  });

  it('a config of another protocol version is refused', async () => {
    const ws = suite.workspace('proto');
    const ex = await suite.start(ws, 'universal');
    await expect(reattachExecutor({ ...ex.reattachConfig, protocol: 99 })).rejects.toMatchObject({ code: 'EPROTO' });
  });
});
