'use strict';
/** launch-detached: time until a `sleep 1000` container is running, and time until it is deleted again. */
const { interleave, rowsOf, paired, samplesOf } = require('../lib/harness');

module.exports = {
  name: 'launch-detached',
  description:
    'A long-running container (`sleep 1000`): `start` is the time until it is running, `delete` the time until it is gone again. ' +
    'CLIs: `run -d -b BUNDLE ID`, then `delete -f ID` (each timed to its exit). The executor: `startExecutor` (a new executor process) ' +
    '+ `launch` of an isolated task running the host\'s `/bin/sleep 1000` (its own config: the host\'s /bin, /lib, /usr... bind-mounted ' +
    'read-only, so more mounts than the busybox bundle), then `shutdown({signal: "SIGKILL"})` until the executor has exited; ' +
    '`launch only` is the launch request to an executor that is already up.',
  async run(ctx, o) {
    const b = ctx.bundles;
    const sp = ctx.spawner;
    const notes = [];
    const skipped = [];
    const cli = (name, mk) => ({
      name,
      run: async () => {
        const id = ctx.id('d');
        const s = await sp.run(mk('run', '-d', '-b', b.sleep, id));
        const d = await sp.run(mk('delete', '-f', id));
        return { start: s.ms, delete: d.ms };
      },
    });
    const contestants = [];
    if (ctx.executorAvailable) {
      contestants.push({
        name: 'executor',
        run: async () => {
          const t = await ctx.executorTask(ctx.id('x'));
          const t0 = performance.now();
          await ctx.executorStop(t.ex);
          return { start: t.totalMs, delete: performance.now() - t0, 'launch only': t.launchMs };
        },
      });
    } else skipped.push('executor: lib/executor (startExecutor) is not in dist/: not measured');
    contestants.push(
      cli('hull run -d / delete -f', (...a) => ctx.hullCli(...a)),
      cli('runc run -d / delete -f', (...a) => ctx.runc(...a)),
      cli('crun run -d / delete -f', (...a) => ctx.crun(...a)),
    );
    const res = await interleave(contestants, o.harness);
    const rows = rowsOf(res);
    for (const r of rows) {
      const m = r.metric === 'launch only' ? 'start' : r.metric;
      r.ratio = paired(r.samples, samplesOf(res, 'crun run -d / delete -f', m));
    }
    notes.push(
      'runc `delete -f` of a running container sleeps 100 ms after its SIGKILL before it looks again (perf-anchors.md), hence its delete row.',
      'The executor row includes starting a Node process (the executor) per task; the CLIs pay one Node start (hull) or Go start (runc) per command.',
    );
    return { ...res, rows, ref: { label: 'crun (same metric)' }, ratios: [], targets: [], notes, skipped };
  },
};
