'use strict';
/** launch: wall time from nothing to the exit of busybox /bin/true, container deleted. */
const { interleave, rowsOf, target, paired, samplesOf } = require('../lib/harness');

module.exports = {
  name: 'launch',
  description:
    'Wall time of a one-shot container of busybox `/bin/true`, from nothing until it has exited and is deleted. ' +
    '`hull library` is in-process `Container.create` + `start` + `wait` + `delete` (its `to exit` metric stops at `wait`); ' +
    'the CLIs are `run -b BUNDLE ID` started with posix_spawn and timed to their exit. All three runtimes run the same config.json. ' +
    'The floor is `unshare -fpmiun --mount-proc chroot ROOTFS /bin/true` (the same namespaces, nothing else); `node -e 0` is what any Node CLI pays before its first line.',
  async run(ctx, o) {
    const b = ctx.bundles;
    const sp = ctx.spawner;
    const contestants = [
      {
        name: 'hull library',
        run: async () => {
          const id = ctx.id('l');
          const t0 = performance.now();
          const c = await ctx.hull.Container.create({ id, bundle: b.true, root: ctx.roots.hull });
          ctx.containers.add(c);
          c.start();
          const e = await c.wait();
          const t1 = performance.now();
          await ctx.hullDelete(c);
          const t2 = performance.now();
          if (e.status !== 0) throw new Error(`exit status ${e.status}`);
          return { time: t2 - t0, 'to exit': t1 - t0 };
        },
      },
      { name: 'hull run', run: async () => (await sp.run(ctx.hullCli('run', '-b', b.true, ctx.id('r')))).ms },
      { name: 'runc run', run: async () => (await sp.run(ctx.runc('run', '-b', b.true, ctx.id('rr')))).ms },
      { name: 'crun run', run: async () => (await sp.run(ctx.crun('run', '-b', b.true, ctx.id('cr')))).ms },
      {
        name: 'floor: unshare + chroot',
        run: async () =>
          (await sp.run(['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', `--mount-proc=${b.rootfs}/proc`, 'chroot', b.rootfs, '/bin/true'])).ms,
      },
      { name: 'node -e 0', run: async () => (await sp.run([ctx.node, '-e', '0'])).ms },
    ];
    const res = await interleave(contestants, o.harness);
    const rows = rowsOf(res);
    const crun = samplesOf(res, 'crun run');
    for (const r of rows) r.ratio = paired(r.samples, crun);
    const lib = paired(samplesOf(res, 'hull library'), crun);
    const hullRun = samplesOf(res, 'hull run');
    const node = samplesOf(res, 'node -e 0');
    const minusNode = hullRun.map((x, i) => (x !== null && node[i] !== null ? x - node[i] : null));
    const cli = paired(minusNode, crun);
    const ratios = [
      { label: 'hull library ÷ crun run', ...lib },
      { label: '(hull run − node -e 0) ÷ crun run', ...cli },
      { label: 'hull run − node -e 0', unit: 'ms', ...paired(hullRun, node, (x, y) => x - y) },
      { label: 'crun run ÷ floor', ...paired(crun, samplesOf(res, 'floor: unshare + chroot')) },
      { label: 'hull library (to exit, no delete) ÷ crun run', ...paired(samplesOf(res, 'hull library', 'to exit'), crun) },
    ];
    const targets = [
      target({ part: 'launch', row: 'hull library', metric: 'time', label: 'hull library ÷ crun run', kind: 'max', limit: 0.7, value: lib.median }),
      target({ part: 'launch', row: 'hull run', label: '(hull run − node -e 0) ÷ crun run', kind: 'max', limit: 1.0, value: cli.median }),
    ];
    return { ...res, rows, ref: { label: 'crun run' }, ratios, targets, notes: [] };
  },
};
