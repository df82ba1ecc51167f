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
/** Each level is measured twice: streams sampled in the agent (the client's default), then in each executor. */
const SAMPLERS = ['agent', 'executor'];

function now() {
  return performance.timeOrigin + performance.now();
}

/** Reads one task's stream into `samples` ({ts, recv}) until stopped; `sampler`: 'agent' or 'executor'. */
function openStream(ex, samples, sampler) {
  const it = ex.stats({ intervalMs: INTERVAL, sampler })[Symbol.asyncIterator]();
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
    `N executor tasks (isolated, \`sleep 1000\`), each with a stats stream at ${INTERVAL} ms open from this process (the agent): sampled in the agent from the task's cgroups (the client's default), then, as a second window, by each executor (\`sampler: 'executor'\`). ` +
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
        // references, in the same window: N bare Node processes with an empty 1 s timer, and ONE
        // process sampling all N tasks' cgroups with statsReader() on one timer
        const pathsFile = path.join(ctx.tmp, `paths-${n}.json`);
        fs.writeFileSync(pathsFile, JSON.stringify(tasks.map((t) => ({ id: t.id, paths: JSON.parse(fs.readFileSync(path.join(t.stateDir, 'task.json'), 'utf8')).cgroupPaths }))));
        const ticker = path.join(__dirname, '../lib/ticker.js');
        const life = String(settleS + SAMPLERS.length * (warmS + windowS + 5) + 5);
        const timers = Array.from({ length: n }, () => spawn(ctx.node, [ticker, 'idle-timer', String(INTERVAL), life], { stdio: 'ignore', env: {} }));
        refs.push(...timers);
        const samplerRef = spawn(ctx.node, [ticker, 'sampler', String(INTERVAL), life, pathsFile], { stdio: ['ignore', 'pipe', 'inherit'], env: {} });
        refs.push(samplerRef);
        let samplerOut = '';
        samplerRef.stdout.on('data', (d) => (samplerOut += d));
        const samplerDone = new Promise((r) => samplerRef.on('close', r));
        // V8's memory reducer runs a few GCs 10-25 s after a Node process goes idle: let the
        // executors (and the references) get past their start before anything is measured
        ctx.log(`  ${n} task(s): ${settleS} s settling`);
        await sleep(settleS * 1000);
        const phases = {};
        for (const sampler of SAMPLERS) {
          const per = tasks.map(() => []);
          const open = tasks.map((t, i) => openStream(t.ex, per[i], sampler));
          streams.push(...open);
          await sleep(warmS * 1000);
          const w0 = now();
          const a0 = process.cpuUsage();
          const e0 = tasks.map((t) => cpu(t.ex.pid));
          const i0 = timers.map((t) => cpu(t.pid));
          const s0 = cpu(samplerRef.pid);
          ctx.log(`  ${n} task(s), sampled in the ${sampler}: ${windowS} s window`);
          await sleep(windowS * 1000);
          const w1 = now();
          const a1 = process.cpuUsage(a0);
          const e1 = tasks.map((t) => cpu(t.ex.pid));
          const i1 = timers.map((t) => cpu(t.pid));
          const s1 = cpu(samplerRef.pid);
          await sleep(INTERVAL / 2); // let the window's last samples arrive
          await Promise.all(open.map((st) => st.stop().catch(() => undefined)));
          const agentS = (a1.user + a1.system) / 1e6;
          const execS = e1.reduce((sum, c, i) => sum + (c.ns - e0[i].ns), 0) / 1e9;
          const execTicksS = e1.reduce((sum, c, i) => sum + (c.ticks - e0[i].ticks), 0) / 100;
          const late = [];
          const exLate = [];
          let missed = 0;
          for (const smp of per) {
            const p = punctuality(smp, w0, w1);
            late.push(...p.late);
            exLate.push(...p.exLate);
            missed += p.missed;
          }
          const onTime = late.filter((x) => Math.abs(x) <= ON_TIME_MS).length;
          const expected = late.length + missed;
          const perMin = 60 / windowS;
          phases[sampler] = {
            samples: late.length,
            missed,
            onTimePct: expected ? (100 * onTime) / expected : NaN,
            lateness: summarize(late),
            samplerLateness: summarize(exLate),
            latenessSamples: late,
            cpuPerMin: { agent: agentS * perMin, executors: execS * perMin, executorsFromTicks: execTicksS * perMin, total: (agentS + execS) * perMin },
            refs: { timersS: i1.reduce((sum, c, i) => sum + (c.ns - i0[i].ns), 0) / 1e9, samplerS: (s1.ns - s0.ns) / 1e9, perMin },
          };
        }
        await samplerDone;
        let samplerLate = [];
        try {
          samplerLate = JSON.parse(samplerOut).late.slice(settleS + warmS);
        } catch {
          // reported below as no data
        }
        const ref = phases.agent.refs;
        results.push({
          tasks: n,
          windowS,
          agent: phases.agent,
          executor: phases.executor,
          reference: {
            idleTimersCpuPerMin: ref.timersS * ref.perMin,
            samplerCpuPerMin: ref.samplerS * ref.perMin,
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
    const label = (r) => `${r.tasks} task${r.tasks > 1 ? 's' : ''}`;
    const rows = results.flatMap((r) =>
      SAMPLERS.map((smp) => ({
        contestant: `${label(r)}, sampled in the ${smp}`,
        metric: 'lateness at the agent',
        unit: 'ms',
        samples: r[smp].latenessSamples,
        ...r[smp].lateness,
      })),
    );
    const r50 = results.find((r) => r.tasks === 50)?.agent;
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
    const head = '| tasks | sampled in | samples (missed ticks) | on time (±50 ms) | lateness at agent median / p95 / max | sampler-side p95 | CPU s/min: agent | executors | total (% of one core) | target |';
    const lines = [head, '|---|---|---|---|---|---|---|---|---|---|'];
    for (const r of results) {
      for (const smp of SAMPLERS) {
        const x = r[smp];
        const ts = r.tasks === 50 && smp === 'agent' ? targets.map((t) => `${t.label}: ${fmt(t.value)} ${t.unit} — **${t.status}**, ${t.by}`).join('<br>') : '–';
        lines.push(
          `| ${r.tasks} | ${smp === 'agent' ? 'the agent (default)' : 'each executor'} | ${x.samples} (${x.missed}) | ${fmt(x.onTimePct)} % | ${fmt(x.lateness.median, 'ms')} / ${fmt(x.lateness.p95, 'ms')} / ${fmt(x.lateness.max, 'ms')} | ${fmt(x.samplerLateness.p95, 'ms')} | ${fmt(x.cpuPerMin.agent)} | ${fmt(x.cpuPerMin.executors)} | ${fmt(x.cpuPerMin.total)} (${fmt((x.cpuPerMin.total / 60) * 100)} %) | ${ts} |`,
        );
      }
    }
    lines.push('');
    lines.push('References in the same run (not targets), measured during the agent window: N bare Node processes with an empty 1 s `setInterval`, and one separate process sampling all N tasks\' cgroups with `statsReader().read()` on one 1 s timer.');
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
      `Per level: executors started 4 at a time, ${settleS} s of settling (V8's post-start GCs); then, for each sampler, streams opened, ${warmS} s of warm-up, the ${windowS} s window, streams closed. Executor CPU from schedstat of live threads (from utime+stime, 10 ms ticks: ${results
        .map((r) => `${r.tasks}: ${SAMPLERS.map((smp) => `${fmt(r[smp].cpuPerMin.executorsFromTicks)}`).join(' / ')} s/min`)
        .join(', ')}, agent / executor sampling).`,
      'Sampled in the agent, each executor does no periodic work at all: its CPU in that window is what an idle executor costs (nothing but the kernel\'s accounting).',
      'The reference processes run alongside the executors, so they add their own (small) load to both windows.',
    ];
    const chartRows = [
      ...results.flatMap((r) => SAMPLERS.map((smp) => ({ label: `${label(r)}, in the ${smp}`, metric: 'lateness at the agent (ms)', median: r[smp].lateness.median, p95: r[smp].lateness.p95, group: smp === 'agent' ? 'hull' : undefined }))),
      ...results.flatMap((r) => [
        ...SAMPLERS.map((smp) => ({ label: `${label(r)}: sampled in the ${smp}`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r[smp].cpuPerMin.total, p95: null, group: smp === 'agent' ? 'hull' : undefined })),
        { label: `${label(r)}: ${r.tasks} idle Node timer${r.tasks > 1 ? 's' : ''}`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r.reference.idleTimersCpuPerMin, p95: null },
        { label: `${label(r)}: one sampler for all`, metric: 'CPU s/min (budget: 1.2 s/min)', median: r.reference.samplerCpuPerMin, p95: null },
      ]),
    ];
    for (const r of results) for (const smp of SAMPLERS) delete r[smp].latenessSamples;
    return { rows, levels: results, targets, notes, customTable: lines.join('\n'), chartRows };
  },
};
