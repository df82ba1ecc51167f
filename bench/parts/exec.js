'use strict';
/** exec: wall time of /bin/true run in an already running container. */
const path = require('node:path');
const { interleave, rowsOf, target, paired, samplesOf } = require('../lib/harness');

module.exports = {
  name: 'exec',
  description:
    'Wall time of `/bin/true` executed in a running container, until it has exited. CLIs: `exec ID /bin/true` against ' +
    'their own runtime\'s container. `hull library exec` is in-process `exec()` (lib/container/exec.ts) plus waiting on its pidfd. ' +
    '`executor.exec` is an exec session (streams drained, stdin closed, until `exited`) into an executor\'s isolated task (the host\'s ' +
    '/bin/true, over the executor socket; the executor is up and its task running before timing starts); `executor.execOnce` collects the output instead. ' +
    'The busybox containers run `sleep 1000`. The floor is `nsenter -t PID -a /bin/true` into the hull container (namespaces only: no cgroups, capabilities or no_new_privs).',
  async run(ctx, o) {
    const sp = ctx.spawner;
    const b = ctx.bundles;
    const skipped = [];
    const notes = [];
    const hid = ctx.id('e');
    const c = await ctx.hullStart(hid);
    const rid = ctx.id('er');
    const cid = ctx.id('ec');
    let task;
    try {
      await sp.run(ctx.runc('run', '-d', '-b', b.sleep, rid));
      await sp.run(ctx.crun('run', '-d', '-b', b.sleep, cid));
      const contestants = [];
      if (ctx.executorAvailable) {
        task = await ctx.executorTask(ctx.id('ex'));
        if (typeof task.ex.exec === 'function') {
          contestants.push({
            name: 'executor.exec',
            run: async () => {
              const t0 = performance.now();
              const s = await task.ex.exec({ cmd: '/bin/true' });
              s.stdout.resume();
              s.stderr.resume();
              s.stdin.end();
              const r = await s.exited;
              const t1 = performance.now();
              if (r.status !== 0) throw new Error(`exit status ${r.status}`);
              return t1 - t0;
            },
          });
        } else skipped.push('executor.exec: the executor has no `exec` yet (lib/executor/types.ts `Executor`): not measured');
        if (typeof task.ex.execOnce === 'function') {
          contestants.push({
            name: 'executor.execOnce',
            run: async () => {
              const t0 = performance.now();
              const r = await task.ex.execOnce({ cmd: '/bin/true' });
              const t1 = performance.now();
              if (r.status !== 0) throw new Error(`exit status ${r.status}`);
              return t1 - t0;
            },
          });
        }
      } else skipped.push('executor.exec: lib/executor is not in dist/: not measured');
      const { exec } = require(path.join(ctx.dist, 'container/exec'));
      const rt = ctx.hull.defaultRuntime(ctx.roots.hull);
      const base = rt.store.readConfig(hid).process;
      contestants.push(
        {
          name: 'hull library exec',
          run: async () => {
            const t0 = performance.now();
            const { pidfd } = await exec(rt, hid, { process: { ...base, args: ['/bin/true'] } });
            try {
              const s = await rt.sys.watchExit(pidfd);
              if (s.exitCode !== 0) throw new Error(`exit ${JSON.stringify(s)}`);
            } finally {
              rt.sys.close(pidfd);
            }
            return performance.now() - t0;
          },
        },
        { name: 'hull exec', run: async () => (await sp.run(ctx.hullCli('exec', hid, '/bin/true'))).ms },
        { name: 'runc exec', run: async () => (await sp.run(ctx.runc('exec', rid, '/bin/true'))).ms },
        { name: 'crun exec', run: async () => (await sp.run(ctx.crun('exec', cid, '/bin/true'))).ms },
        { name: 'floor: nsenter -a', run: async () => (await sp.run(['nsenter', '-t', String(c.pid), '-a', '/bin/true'])).ms },
      );
      const res = await interleave(contestants, o.harness);
      const rows = rowsOf(res);
      const crun = samplesOf(res, 'crun exec');
      for (const r of rows) r.ratio = paired(r.samples, crun);
      const ex = paired(samplesOf(res, 'executor.exec'), crun);
      const targets = [
        target({
          part: 'exec',
          row: 'executor.exec',
          label: 'executor.exec ÷ crun exec',
          kind: 'max',
          limit: 1.0,
          value: ex.median,
          detail: ex.n ? '' : 'the executor has no exec yet',
        }),
      ];
      const ratios = [
        { label: 'hull library exec ÷ crun exec', ...paired(samplesOf(res, 'hull library exec'), crun) },
        { label: 'hull exec − hull library exec (the CLI\'s own cost)', unit: 'ms', ...paired(samplesOf(res, 'hull exec'), samplesOf(res, 'hull library exec'), (x, y) => x - y) },
        { label: 'crun exec ÷ nsenter floor', ...paired(crun, samplesOf(res, 'floor: nsenter -a')) },
      ];
      if (ex.n) ratios.unshift({ label: 'executor.exec ÷ crun exec', ...ex });
      return { ...res, rows, ref: { label: 'crun exec' }, ratios, targets, notes, skipped };
    } finally {
      if (task) await ctx.executorStop(task.ex).catch(() => undefined);
      await ctx.hullDelete(c).catch(() => undefined);
      await sp.run(ctx.runc('delete', '-f', rid)).catch(() => undefined);
      await sp.run(ctx.crun('delete', '-f', cid)).catch(() => undefined);
    }
  },
};
