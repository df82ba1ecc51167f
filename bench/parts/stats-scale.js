'use strict';
/** stats-scale: 1, 10 and 50 executor tasks, each with a stats stream at 1 s: CPU cost and punctuality. */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { sleep } = require('../lib/context');
const { target } = require('../lib/harness');
const { cpu } = require('../lib/proc');
const { fmt } = require('../lib/report');
const { summarize } = require('../lib/stats');

const INTERVAL = 1000;
const ON_TIME_MS = 50;

function now() {
  return performance.timeOrigin + performance.now();
}

/** Reads one task's stream into `samples` ({ts, recv}) until stopped. */
function openStream(ex, samples) {
  const it = ex.stats({ intervalMs: INTERVAL })[Symbol.asyncIterator]();
  let stopped = false;
  const done = (async () => {
    for (;;) {
      const r = await it.next();
      if (r.done || stopped) return;
      samples.push({ ts: r.value.timestamp, recv: now() });
    }
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      await it.return?.();
      await Promise.race([done.catch(() => undefined), sleep(2000)]);
    },
  };
}

/** Lateness of each in-window sample against the stream's own schedule, and missed ticks. */
function punctuality(samples, w0, w1) {
  const out = { late: [], exLate: [], missed: 0 };
  if (!samples.length) return out;
  const t0 = samples[0].ts; // tick 0 is taken at once when the stream opens
  const seen = new Set();
  for (const s of samples) {
    const k = Math.round((s.ts - t0) / INTERVAL);
    const due = t0 + k * INTERVAL;
    if (due < w0 || due >= w1) continue;
    seen.add(k);
    out.late.push(s.recv - due);
    out.exLate.push(s.ts - due);
  }
  const kFirst = Math.ceil((w0 - t0) / INTERVAL);
  const kLast = Math.ceil((w1 - t0) / INTERVAL) - 1;
  for (let k = kFirst; k <= kLast; k++) if (!seen.has(k)) out.missed += 1;
  return out;
}

module.exports = {
  name: 'stats-scale',
  description:
    `N executor tasks (isolated, \`sleep 1000\`), each with a stats stream at ${INTERVAL} ms open from this process (the agent). ` +
    'Over the window: CPU seconds per minute of the agent (process.cpuUsage) and of all executors (their threads\' schedstat), and ' +
    `whether each sample arrived on time: at the agent within ±${ON_TIME_MS} ms of its due time (the stream's first sample + k × interval); a tick with no sample counts as late.`,
  async run(ctx, o) {
    if (!ctx.executorAvailable) {
      return { rows: [], targets: [], notes: [], skipped: ['lib/executor (startExecutor) is not in dist/: stats-scale needs the executor'] };
    }
    const windowS = ctx.quick ? 10 : 60;
    const warmS = 5;
    const settleS = 35;
    const levels = [1, 10, 50];
    const results = [];
    for (const n of levels) {
      ctx.log(`  ${n} task(s): starting executors`);
      const tasks = await ctx.executorTasks(n, `ss${n}`);
      const streams = [];
      const refs = [];
      try {
        const per = tasks.map(() => []);
        // references, in the same window: N bare Node processes with an empty 1 s timer, and ONE
        // process sampling all N tasks' cgroups with statsReader() on one timer
        const pathsFile = path.join(ctx.tmp, `paths-${n}.json`);
        fs.writeFileSync(pathsFile, JSON.stringify(tasks.map((t) => ({ id: t.id, paths: JSON.parse(fs.readFileSync(path.join(t.stateDir, 'task.json'), 'utf8')).cgroupPaths }))));
        const ticker = path.join(__dirname, '../lib/ticker.js');
        const life = String(settleS + warmS + windowS + 5);
        const timers = Array.from({ length: n }, () => spawn(ctx.node, [ticker, 'idle-timer', String(INTERVAL), life], { stdio: 'ignore', env: {} }));
        refs.push(...timers);
        const sampler = spawn(ctx.node, [ticker, 'sampler', String(INTERVAL), life, pathsFile], { stdio: ['ignore', 'pipe', 'inherit'], env: {} });
        refs.push(sampler);
        let samplerOut = '';
        sampler.stdout.on('data', (d) => (samplerOut += d));
        const samplerDone = new Promise((r) => sampler.on('close', r));
        // V8's memory reducer runs a few GCs 10-25 s after a Node process goes idle: let the
        // executors (and the references) get past their start before anything is measured
        ctx.log(`  ${n} task(s): ${settleS} s settling`);
        await sleep(settleS * 1000);
        for (let i = 0; i < n; i++) streams.push(openStream(tasks[i].ex, per[i]));
        await sleep(warmS * 1000);
        const w0 = now();
        const a0 = process.cpuUsage();
        const e0 = tasks.map((t) => cpu(t.ex.pid));
        const i0 = timers.map((t) => cpu(t.pid));
        const s0 = cpu(sampler.pid);
        ctx.log(`  ${n} task(s): ${windowS} s window`);
        await sleep(windowS * 1000);
        const w1 = now();
        const a1 = process.cpuUsage(a0);
        const e1 = tasks.map((t) => cpu(t.ex.pid));
        const i1 = timers.map((t) => cpu(t.pid));
        const s1 = cpu(sampler.pid);
        await sleep(INTERVAL / 2); // let the window's last samples arrive
        await samplerDone;
        const timersS = i1.reduce((s, c, i) => s + (c.ns - i0[i].ns), 0) / 1e9;
        const samplerS = (s1.ns - s0.ns) / 1e9;
        let samplerLate = [];
        try {
          samplerLate = JSON.parse(samplerOut).late.slice(settleS + warmS);
        } catch {
          // reported below as no data
        }
        const agentS = (a1.user + a1.system) / 1e6;
        const execS = e1.reduce((s, c, i) => s + (c.ns - e0[i].ns), 0) / 1e9;
        const execTicksS = e1.reduce((s, c, i) => s + (c.ticks - e0[i].ticks), 0) / 100;
        const late = [];
        const exLate = [];
        let missed = 0;
        for (const s of per) {
          const p = punctuality(s, w0, w1);
          late.push(...p.late);
          exLate.push(...p.exLate);
          missed += p.missed;
        }
        const onTime = late.filter((x) => Math.abs(x) <= ON_TIME_MS).length;
        const expected = late.length + missed;
        const perMin = 60 / windowS;
        results.push({
          tasks: n,
          windowS,
          samples: late.length,
          missed,
          onTimePct: expected ? (100 * onTime) / expected : NaN,
          lateness: summarize(late),
          executorLateness: summarize(exLate),
          latenessSamples: late,
          cpuPerMin: { agent: agentS * perMin, executors: execS * perMin, executorsFromTicks: execTicksS * perMin, total: (agentS + execS) * perMin },
          reference: {
            idleTimersCpuPerMin: timersS * perMin,
            samplerCpuPerMin: samplerS * perMin,
            samplerOnTimePct: samplerLate.length ? (100 * samplerLate.filter((x) => Math.abs(x) <= ON_TIME_MS).length) / samplerLate.length : NaN,
            samplerLateness: summarize(samplerLate),
          },
        });
      } finally {
        for (const p of refs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        await Promise.all(streams.map((s) => s.stop().catch(() => undefined)));
        ctx.log(`  ${n} task(s): stopping executors`);
        await ctx.stopAll(tasks);
      }
    }
    const rows = results.map((r) => ({
      contestant: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`,
      metric: 'lateness at the agent',
      unit: 'ms',
      samples: r.latenessSamples,
      ...r.lateness,
    }));
    const r50 = results.find((r) => r.tasks === 50);
    const targets = [
      target({ part: 'stats-scale', row: '50 tasks', label: `samples within ±${ON_TIME_MS} ms of due`, kind: 'min', limit: 99, unit: '%', value: r50?.onTimePct }),
      target({
        part: 'stats-scale',
        row: '50 tasks',
        label: 'CPU of agent + executors, % of one core',
        kind: 'max',
        limit: 2,
        unit: '%',
        value: r50 ? (r50.cpuPerMin.total / 60) * 100 : NaN,
      }),
    ];
    const head = '| tasks | samples (missed ticks) | on time (±50 ms) | lateness at agent median / p95 / max | executor-side p95 | CPU s/min: agent | executors | total (% of one core) | target |';
    const lines = [head, '|---|---|---|---|---|---|---|---|---|'];
    for (const r of results) {
      const ts = r.tasks === 50 ? targets.map((t) => `${t.label}: ${fmt(t.value)} ${t.unit} — **${t.status}**, ${t.by}`).join('<br>') : '–';
      lines.push(
        `| ${r.tasks} | ${r.samples} (${r.missed}) | ${fmt(r.onTimePct)} % | ${fmt(r.lateness.median, 'ms')} / ${fmt(r.lateness.p95, 'ms')} / ${fmt(r.lateness.max, 'ms')} | ${fmt(r.executorLateness.p95, 'ms')} | ${fmt(r.cpuPerMin.agent)} | ${fmt(r.cpuPerMin.executors)} | ${fmt(r.cpuPerMin.total)} (${fmt((r.cpuPerMin.total / 60) * 100)} %) | ${ts} |`,
      );
    }
    lines.push('');
    lines.push('References in the same window (not targets): N bare Node processes with an empty 1 s `setInterval`, and one process sampling all N tasks\' cgroups with `statsReader().read()` on one 1 s timer.');
    lines.push('');
    lines.push('| tasks | N idle Node timers: CPU s/min (% of one core) | one sampler for all N: CPU s/min (% of one core) | sampler on time (±50 ms) | sampler lateness p95 |');
    lines.push('|---|---|---|---|---|');
    for (const r of results) {
      const x = r.reference;
      lines.push(
        `| ${r.tasks} | ${fmt(x.idleTimersCpuPerMin)} (${fmt((x.idleTimersCpuPerMin / 60) * 100)} %) | ${fmt(x.samplerCpuPerMin)} (${fmt((x.samplerCpuPerMin / 60) * 100)} %) | ${fmt(x.samplerOnTimePct)} % | ${fmt(x.samplerLateness.p95, 'ms')} |`,
      );
    }
    const notes = [
      `Per level: executors started 4 at a time, ${settleS} s of settling (V8's post-start GCs), streams opened, ${warmS} s of warm-up, then the ${windowS} s window. Executor CPU from schedstat of live threads (from utime+stime, 10 ms ticks: ${results
        .map((r) => `${r.tasks}: ${fmt(r.cpuPerMin.executorsFromTicks)} s/min`)
        .join(', ')}).`,
      'The reference processes run alongside the executors, so they add their own (small) load to the window.',
    ];
    const chartRows = [
      ...results.map((r) => ({ label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`, metric: 'lateness at the agent (ms)', median: r.lateness.median, p95: r.lateness.p95, group: 'hull' })),
      ...results.flatMap((r) => [
        { label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}: agent + executors`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r.cpuPerMin.total, p95: null, group: 'hull' },
        { label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}: ${r.tasks} idle Node timer${r.tasks > 1 ? 's' : ''}`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r.reference.idleTimersCpuPerMin, p95: null },
        { label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}: one sampler for all`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r.reference.samplerCpuPerMin, p95: null },
      ]),
    ];
    for (const r of results) delete r.latenessSamples;
    return { rows, levels: results, targets, notes, customTable: lines.join('\n'), chartRows };
  },
};
