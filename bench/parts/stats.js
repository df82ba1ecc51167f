'use strict';
/** stats: the cost of one stats sample of a running container, in µs. */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { interleave, rowsOf, target, paired, samplesOf } = require('../lib/harness');

/** The files `read()` opens, learnt by watching fs.openSync during its first call. */
function filesOf(reader) {
  const seen = [];
  const orig = fs.openSync;
  fs.openSync = function (p, ...rest) {
    const fd = orig.call(this, p, ...rest);
    seen.push(String(p));
    return fd;
  };
  try {
    reader.read();
  } finally {
    fs.openSync = orig;
  }
  return seen;
}

module.exports = {
  name: 'stats',
  description:
    'One stats sample of a running busybox `sleep` container, in µs. `hull statsReader().read()` is the library sampler (files opened once, ' +
    're-read with pread, parsed from bytes) on a reader kept across samples, timed over a batch; the C floor reads the same files the same way ' +
    '(bench/floor/pread.c, compiled with cc -O2 at bench time) with no parsing; `Node readSync` does the same from Node, `Node readFileSync` ' +
    'opens and reads each file per sample. `hull events --stats` and `runc events --stats` are one CLI call each (one sample, process start included).',
  async run(ctx, o) {
    const q = ctx.quick;
    const sp = ctx.spawner;
    const b = ctx.bundles;
    const hid = ctx.id('s');
    const c = await ctx.hullStart(hid);
    const rid = ctx.id('sr');
    await sp.run(ctx.runc('run', '-d', '-b', b.sleep, rid));
    try {
      const { StateStore } = require(path.join(ctx.dist, 'container/state-store'));
      const rec = new StateStore(ctx.roots.hull).read(hid);
      const mgr = ctx.hull.createCgroupManager({ id: hid, paths: rec.cgroupPaths });
      const reader = mgr.statsReader();
      const files = filesOf(reader);
      if (!files.length) throw new Error('the stats reader opened no file');
      const fds = files.map((f) => fs.openSync(f, 'r'));
      const buf = Buffer.allocUnsafe(64 * 1024);
      const pread = ctx.bin('pread');
      const B = { hull: q ? 1000 : 3000, readSync: q ? 1000 : 3000, readFileSync: q ? 200 : 600, c: q ? 2000 : 10000 };
      const perSample = (n, fn) => {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) fn();
        return Number(process.hrtime.bigint() - t0) / 1000 / n;
      };
      let sink = 0;
      const contestants = [
        { name: 'hull statsReader().read()', run: async () => perSample(B.hull, () => (sink += reader.read().memory.usage)) },
        {
          name: 'Node readSync, kept fds (no parsing)',
          run: async () =>
            perSample(B.readSync, () => {
              for (const fd of fds) sink += fs.readSync(fd, buf, 0, buf.length, 0);
            }),
        },
        {
          name: 'Node readFileSync (no parsing)',
          run: async () =>
            perSample(B.readFileSync, () => {
              for (const f of files) sink += fs.readFileSync(f).length;
            }),
        },
        {
          name: 'floor: C pread, kept fds',
          run: async () => Number(execFileSync(pread, [String(B.c), ...files], { encoding: 'utf8' }).split(' ')[0]),
        },
        { name: 'hull events --stats', run: async () => (await sp.run(ctx.hullCli('events', '--stats', hid))).ms * 1000 },
        { name: 'runc events --stats', run: async () => (await sp.run(ctx.runc('events', '--stats', rid))).ms * 1000 },
      ];
      const res = await interleave(contestants, o.harness);
      for (const fd of fds) fs.closeSync(fd);
      reader.close();
      const rows = rowsOf(res, { time: 'µs' });
      const floor = samplesOf(res, 'floor: C pread, kept fds');
      for (const r of rows) r.ratio = paired(r.samples, floor);
      const hull = samplesOf(res, 'hull statsReader().read()');
      const vsFloor = paired(hull, floor);
      const runcOverHull = paired(samplesOf(res, 'runc events --stats'), hull);
      const ratios = [
        { label: 'hull sample ÷ C pread floor', ...vsFloor },
        { label: 'runc events --stats ÷ hull sample', ...runcOverHull },
        { label: 'hull sample ÷ Node readSync on kept fds', ...paired(hull, samplesOf(res, 'Node readSync, kept fds (no parsing)')) },
        { label: 'hull events --stats ÷ runc events --stats', ...paired(samplesOf(res, 'hull events --stats'), samplesOf(res, 'runc events --stats')) },
      ];
      const targets = [
        target({ part: 'stats', row: 'hull statsReader().read()', label: 'hull sample ÷ C pread floor', kind: 'max', limit: 2, value: vsFloor.median }),
        target({ part: 'stats', row: 'hull statsReader().read()', label: 'runc events --stats ÷ hull sample (times cheaper)', kind: 'min', limit: 300, value: runcOverHull.median }),
      ];
      const notes = [`The sample reads ${files.length} files: ${files.map((f) => `\`${f.replace(/^\/sys\/fs\/cgroup\//, '').replace(hid, '<id>')}\``).join(', ')}.`];
      void sink;
      return { ...res, rows, ref: { label: 'C pread floor' }, ratios, targets, notes, files };
    } finally {
      await ctx.hullDelete(c).catch(() => undefined);
      await sp.run(ctx.runc('delete', '-f', rid)).catch(() => undefined);
    }
  },
};
