'use strict';
/** parallel: N containers started at once, then deleted at once. */
const { execFileSync } = require('node:child_process');
const { interleave, rowsOf, target, paired, samplesOf } = require('../lib/harness');

module.exports = {
  name: 'parallel',
  description:
    'N busybox `sleep` containers started all at once (wall time until every start has returned, i.e. all are running), then ' +
    'checked to be running (untimed), then deleted all at once (wall time until all are gone). hull library: N concurrent ' +
    '`Container.create` + `start`, then N concurrent `delete(true)`, in this process. CLIs: N `run -d` started together by ' +
    'posix_spawn, then N `delete -f`. `node -e 0` is N of Node\'s own start-up at once: what any Node CLI pays before its first line.',
  async run(ctx, o) {
    const N = ctx.quick ? 20 : 50;
    const sp = ctx.spawner;
    const b = ctx.bundles;
    const rt = ctx.hull.defaultRuntime(ctx.roots.hull);
    const running = {};
    const note = (name, n) => {
      running[name] ??= [];
      running[name].push(n);
    };
    const listRunning = (kind, ids) => {
      const list = JSON.parse(execFileSync(kind, ['--root', ctx.roots[kind], 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') || [];
      const want = new Set(ids);
      return list.filter((c) => want.has(c.id) && c.status === 'running').length;
    };
    const cli = (name, mk, kind) => ({
      name,
      run: async () => {
        const ids = Array.from({ length: N }, () => ctx.id('p'));
        const s = await sp.batch(ids.map((id) => mk('run', '-d', '-b', b.sleep, id)));
        const n = kind === 'hull' ? ids.filter((id) => ctx.hull.state(rt, id).status === 'running').length : listRunning(kind, ids);
        note(name, n);
        const d = await sp.batch(ids.map((id) => mk('delete', '-f', id)));
        if (s.failed || d.failed || n !== N) throw new Error(`${s.failed} starts and ${d.failed} deletes failed, ${n}/${N} running: ${s.stderr || d.stderr || ''}`);
        return { 'start all': s.ms, 'delete all': d.ms };
      },
    });
    const contestants = [
      {
        name: 'hull library',
        run: async () => {
          const ids = Array.from({ length: N }, () => ctx.id('pl'));
          const t0 = performance.now();
          const settled = await Promise.allSettled(ids.map((id) => ctx.hullStart(id)));
          const t1 = performance.now();
          const cs = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
          const n = cs.filter((c) => c.state().status === 'running').length;
          note('hull library', n);
          const t2 = performance.now();
          await Promise.all(cs.map((c) => ctx.hullDelete(c)));
          const t3 = performance.now();
          if (n !== N) throw new Error(`${n}/${N} running: ${settled.find((r) => r.status === 'rejected')?.reason?.message ?? ''}`);
          return { 'start all': t1 - t0, 'delete all': t3 - t2 };
        },
      },
      cli('hull CLI', (...a) => ctx.hullCli(...a), 'hull'),
      cli('runc', (...a) => ctx.runc(...a), 'runc'),
      cli('crun', (...a) => ctx.crun(...a), 'crun'),
      {
        // what any Node CLI pays for N processes before its first line: the bound of the hull CLI row
        name: 'node -e 0',
        run: async () => {
          const s = await sp.batch(Array.from({ length: N }, () => [ctx.node, '-e', '0']));
          if (s.failed) throw new Error(`${s.failed} of ${N} node -e 0 failed: ${s.stderr}`);
          return { 'start all': s.ms };
        },
      },
    ];
    const h = ctx.quick
      ? { ...o.harness, minRuns: 2, maxRuns: 2, warmup: 0 }
      : { ...o.harness, minRuns: 5, maxRuns: 10, warmup: 1, checkEvery: 5, settle: 0.03, maxSeconds: 300 };
    const res = await interleave(contestants, h);
    const rows = rowsOf(res);
    for (const r of rows) r.ratio = paired(r.samples, samplesOf(res, 'crun', r.metric));
    const crun = samplesOf(res, 'crun', 'start all');
    const lib = paired(samplesOf(res, 'hull library', 'start all'), crun);
    const cliR = paired(samplesOf(res, 'hull CLI', 'start all'), crun);
    const nodeFloor = samplesOf(res, 'node -e 0', 'start all');
    const ratios = [
      { label: `${N} × node -e 0 ÷ crun's ${N} starts`, ...paired(nodeFloor, crun) },
      { label: `hull CLI ÷ ${N} × node -e 0`, ...paired(samplesOf(res, 'hull CLI', 'start all'), nodeFloor) },
    ];
    const targets = [
      target({ part: 'parallel', row: 'hull library', metric: 'start all', label: `hull library, ${N} starts ÷ crun's`, kind: 'max', limit: 1.0, value: lib.median }),
      target({ part: 'parallel', row: 'hull CLI', metric: 'start all', label: `hull CLI, ${N} starts ÷ crun's`, kind: 'max', limit: 1.0, value: cliR.median }),
    ];
    const notes = [
      `N = ${N}. Running after the starts (every round): ${Object.entries(running)
        .map(([k, v]) => `${k} ${v.map((n) => `${n}/${N}`).join(', ')}`)
        .join('; ')}.`,
    ];
    return { ...res, rows, ref: { label: 'crun (same metric)' }, ratios, targets, notes, n: N };
  },
};
