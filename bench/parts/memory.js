'use strict';
/** memory: the executor's memory per running task, and its CPU when idle. */
const { sleep } = require('../lib/context');
const { target } = require('../lib/harness');
const { cpu, smapsRollup, switches } = require('../lib/proc');
const { fmt } = require('../lib/report');
const { summarize } = require('../lib/stats');

const MiB = 1024; // smaps_rollup is in KiB

module.exports = {
  name: 'memory',
  description:
    'The executor with 1 and with 50 running tasks (one executor process per task, isolated, `sleep 1000`), connected to this process, ' +
    'no stats stream open. PSS and RSS of each executor process from /proc/<pid>/smaps_rollup (PSS divides pages shared between the ' +
    'executors, such as the node binary, among them). Then idle: CPU time (schedstat of every thread) and context switches of all ' +
    'executors over the window.',
  async run(ctx) {
    if (!ctx.executorAvailable) {
      return { rows: [], targets: [], notes: [], skipped: ['lib/executor (startExecutor) is not in dist/: memory needs the executor'] };
    }
    const idleS = ctx.quick ? 10 : 60;
    const settleS = 35;
    const levels = [1, 50];
    const results = [];
    for (const n of levels) {
      ctx.log(`  ${n} task(s): starting executors`);
      const tasks = await ctx.executorTasks(n, `m${n}`);
      try {
        const cS = tasks.map((t) => cpu(t.ex.pid));
        await sleep(3000); // start-up garbage collected, lazy work done
        const mem = tasks.map((t) => smapsRollup(t.ex.pid));
        const taskMem = tasks.map((t) => {
          try {
            return smapsRollup(t.taskPid);
          } catch {
            return {};
          }
        });
        // V8 does a few rounds of GC (its memory reducer) some 10-25 s after a process goes idle:
        // a one-off tail of the start, measured apart from the steady idle window
        ctx.log(`  ${n} task(s): ${settleS} s settling`);
        await sleep((settleS - 3) * 1000);
        const c0 = tasks.map((t) => cpu(t.ex.pid));
        const tailMs = c0.reduce((s, c, i) => s + (c.ns - cS[i].ns), 0) / 1e6;
        const s0 = tasks.map((t) => switches(t.ex.pid));
        ctx.log(`  ${n} task(s): ${idleS} s idle window`);
        await sleep(idleS * 1000);
        const c1 = tasks.map((t) => cpu(t.ex.pid));
        const s1 = tasks.map((t) => switches(t.ex.pid));
        const cpuMs = c1.reduce((s, c, i) => s + (c.ns - c0[i].ns), 0) / 1e6;
        const ticks = c1.reduce((s, c, i) => s + (c.ticks - c0[i].ticks), 0);
        const sw = s1.reduce((s, x, i) => s + (x - s0[i]), 0);
        results.push({
          tasks: n,
          pss: summarize(mem.map((m) => m.Pss / MiB)),
          rss: summarize(mem.map((m) => m.Rss / MiB)),
          pssAnon: summarize(mem.map((m) => (m.Pss_Anon ?? NaN) / MiB)),
          pssFile: summarize(mem.map((m) => (m.Pss_File ?? NaN) / MiB)),
          taskPss: summarize(taskMem.map((m) => (m.Pss ?? NaN) / MiB)),
          totalPss: mem.reduce((s, m) => s + m.Pss, 0) / MiB,
          idleS,
          settleS,
          tailCpuMs: tailMs,
          idleCpuMsPerMin: (cpuMs * 60) / idleS,
          idleTicks: ticks,
          idleSwitchesPerMin: (sw * 60) / idleS,
          pssSamples: mem.map((m) => m.Pss / MiB),
          rssSamples: mem.map((m) => m.Rss / MiB),
        });
      } finally {
        ctx.log(`  ${n} task(s): stopping executors`);
        await ctx.stopAll(tasks);
      }
    }
    const r50 = results.find((r) => r.tasks === 50);
    const rIdle = r50 ?? results[results.length - 1];
    const targets = [
      target({ part: 'memory', row: '50 tasks', label: 'executor PSS per running task', kind: 'max', limit: 12, unit: 'MiB', value: r50?.pss.mean }),
      target({
        part: 'memory',
        row: `${rIdle.tasks} tasks`,
        label: 'executor CPU when idle, no stream open',
        kind: 'max',
        limit: 0,
        unit: 'ms/min',
        value: rIdle.idleCpuMsPerMin,
        detail: '',
      }),
    ];
    const lines = [
      '| tasks | executor PSS per task mean (min–max) | RSS per task mean | PSS anon / file | task (sleep) PSS | all executors PSS | CPU in the first 35 s after start, all executors | idle CPU after that, all executors | idle context switches | target |',
      '|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const r of results) {
      const ts = targets.filter((t) => t.row === `${r.tasks} tasks`).map((t) => `${t.label}: ${fmt(t.value)} ${t.unit} (≤ ${t.limit}) — **${t.status}**, ${t.by}`);
      lines.push(
        `| ${r.tasks} | ${fmt(r.pss.mean, 'MiB')} (${fmt(r.pss.min)}–${fmt(r.pss.max)}) | ${fmt(r.rss.mean, 'MiB')} | ${fmt(r.pssAnon.mean)} / ${fmt(r.pssFile.mean)} MiB | ${fmt(r.taskPss.mean, 'MiB')} | ${fmt(r.totalPss, 'MiB')} | ${fmt(r.tailCpuMs, 'ms')} | ${fmt(r.idleCpuMsPerMin, 'ms/min')} (${r.idleTicks} ticks in ${r.idleS} s) | ${fmt(r.idleSwitchesPerMin)}/min | ${ts.join('<br>') || '–'} |`,
      );
    }
    const rows = results.flatMap((r) => [
      { contestant: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`, metric: 'PSS per executor', unit: 'MiB', samples: r.pssSamples, ...r.pss },
      { contestant: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`, metric: 'RSS per executor', unit: 'MiB', samples: r.rssSamples, ...r.rss },
    ]);
    for (const r of results) {
      delete r.pssSamples;
      delete r.rssSamples;
    }
    const chartRows = results.flatMap((r) => [
      { label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`, metric: 'PSS per executor (MiB)', median: r.pss.median, p95: r.pss.p95, group: 'hull' },
      { label: `${r.tasks} task${r.tasks > 1 ? 's' : ''}`, metric: 'RSS per executor (MiB)', median: r.rss.median, p95: r.rss.p95, group: 'hull' },
    ]);
    const notes = [
      `Idle: the agent stays connected to every executor; no request, no stream. The idle window (${idleS} s) starts ${settleS} s after the last executor started: V8's memory reducer runs a few GCs some 10-25 s after a process goes idle, shown apart as the start-up tail. A context switch is a wakeup of some executor thread.`,
    ];
    return { rows, levels: results, targets, notes, customTable: lines.join('\n'), chartRows };
  },
};
