'use strict';
/** tty: bytes per second through the exec pty stream. */
const { spawn } = require('node:child_process');
const path = require('node:path');
const tty = require('node:tty');
const { interleave, rowsOf, paired, samplesOf } = require('../lib/harness');

const BS = 65536;

/** MB/s from the first byte to the end. */
function rate(bytes, tFirst, tEnd) {
  if (!bytes || tFirst === undefined) throw new Error('no output');
  return bytes / 1e6 / ((tEnd - tFirst) / 1000);
}

module.exports = {
  name: 'tty',
  description:
    'Throughput of a terminal: `dd if=/dev/zero bs=64k` writing N MiB to its pty, read by the other end, in MB/s from the first byte ' +
    'to the last. `hull exec -t` runs in the busybox container and relays the pty master it got over the console socket to its ' +
    'stdout (a pipe to this process); `hull library exec` gets the master in-process (ConsoleListener + exec with a console socket) ' +
    'and reads it with a tty.ReadStream, as the relay does; `executor.exec tty stream` is an exec session with `tty: true` into an executor\'s ' +
    'isolated task (the host\'s sh and dd), read from the session\'s stdout over the executor socket; `node-pty` spawns the same command on the host with node-pty alone (no container).',
  async run(ctx, o) {
    const count = ctx.quick ? 128 : 512;
    const cmd = `dd if=/dev/zero bs=${BS} count=${count} 2>/dev/null`;
    const hid = ctx.id('t');
    const c = await ctx.hullStart(hid);
    const notes = [];
    const skipped = [];
    const lost = {};
    let task;
    try {
      const { exec } = require(path.join(ctx.dist, 'container/exec'));
      const { ConsoleListener } = require(path.join(ctx.dist, 'io/console'));
      const rt = ctx.hull.defaultRuntime(ctx.roots.hull);
      const base = rt.store.readConfig(hid).process;
      const want = BS * count;
      const short = (name, bytes) => {
        if (bytes < want) lost[name] = Math.max(lost[name] ?? 0, want - bytes);
      };
      const pty = require('node-pty');
      const contestants = [];
      if (ctx.executorAvailable) {
        task = await ctx.executorTask(ctx.id('tx'));
        if (typeof task.ex.exec === 'function') {
          contestants.push({
            name: 'executor.exec tty stream',
            run: async () => {
              const s = await task.ex.exec({ cmd: '/bin/sh', args: ['-c', cmd], tty: true });
              s.stdin.end();
              s.stderr.resume();
              let bytes = 0;
              let tFirst;
              s.stdout.on('data', (d) => {
                tFirst ??= performance.now();
                bytes += d.length;
              });
              const tEnd = await new Promise((resolve, reject) => {
                s.stdout.on('end', () => resolve(performance.now()));
                s.stdout.on('error', reject);
              });
              const r = await s.exited;
              if (r.status !== 0) throw new Error(`exit status ${r.status}`);
              short('executor.exec tty stream', bytes);
              return rate(bytes, tFirst, tEnd);
            },
          });
        } else skipped.push('executor.exec tty stream: the executor has no exec: not measured');
      } else skipped.push('executor.exec tty stream: lib/executor is not in dist/: not measured');
      contestants.push(
        {
          name: 'hull exec -t (CLI relay)',
          run: () =>
            new Promise((resolve, reject) => {
              const p = spawn(ctx.node, [ctx.hullBin, '--root', ctx.roots.hull, 'exec', '-t', hid, 'sh', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
              let bytes = 0;
              let tFirst;
              let err = '';
              p.stdout.on('data', (d) => {
                tFirst ??= performance.now();
                bytes += d.length;
              });
              p.stderr.on('data', (d) => (err += d));
              p.on('close', (code) => {
                const t = performance.now();
                if (code !== 0) return reject(new Error(`hull exec -t exited ${code}: ${err.trim()}`));
                short('hull exec -t (CLI relay)', bytes);
                try {
                  resolve(rate(bytes, tFirst, t));
                } catch (e) {
                  reject(e);
                }
              });
            }),
        },
        {
          name: 'hull library exec (pty master in-process)',
          run: async () => {
            const listener = new ConsoleListener();
            try {
              const { pidfd } = await exec(rt, hid, { process: { ...base, terminal: true, args: ['sh', '-c', cmd] }, consoleSocket: listener.path });
              const { fd } = listener.receive();
              let bytes = 0;
              let tFirst;
              const tEnd = await new Promise((resolve) => {
                const s = new tty.ReadStream(fd);
                s.on('data', (d) => {
                  tFirst ??= performance.now();
                  bytes += d.length;
                });
                const done = () => {
                  const t = performance.now();
                  s.destroy();
                  resolve(t);
                };
                s.on('error', done); // EIO: the other side is closed
                s.on('end', done);
              });
              await rt.sys.watchExit(pidfd);
              rt.sys.close(pidfd);
              short('hull library exec (pty master in-process)', bytes);
              return rate(bytes, tFirst, tEnd);
            } finally {
              listener.close();
            }
          },
        },
        {
          name: 'node-pty (host, no container)',
          run: () =>
            new Promise((resolve, reject) => {
              const p = pty.spawn('/bin/sh', ['-c', cmd], { encoding: null, cols: 80, rows: 24 });
              let bytes = 0;
              let tFirst;
              p.onData((d) => {
                tFirst ??= performance.now();
                bytes += d.length;
              });
              p.onExit(() => {
                const t = performance.now();
                short('node-pty (host, no container)', bytes);
                try {
                  resolve(rate(bytes, tFirst, t));
                } catch (e) {
                  reject(e);
                }
              });
            }),
        },
      );
      const h = ctx.quick ? o.harness : { ...o.harness, minRuns: 20, maxRuns: 60 };
      const res = await interleave(contestants, h);
      const rows = rowsOf(res, { time: 'MB/s' });
      const ref = samplesOf(res, 'node-pty (host, no container)');
      for (const r of rows) r.ratio = paired(r.samples, ref);
      notes.push(`${count} × 64 KiB = ${(want / 1048576).toFixed(0)} MiB per run; higher is better.`);
      for (const [k, v] of Object.entries(lost)) notes.push(`${k}: up to ${v} bytes fewer than dd wrote, in at least one run.`);
      if (Object.keys(lost).length) {
        notes.push(
          'The end of a pty\'s output is lost in some runs by every reader here, node-pty on the host included, so it is not hull-specific; a likely cause (not verified) is the hangup when the exiting process is the session leader holding the terminal, which can discard what the master side had not read yet.',
        );
      }
      return { ...res, rows, ref: { label: 'node-pty' }, ratios: [], targets: [], notes, skipped, higherIsBetter: true };
    } finally {
      if (task) await ctx.executorStop(task.ex).catch(() => undefined);
      await ctx.hullDelete(c).catch(() => undefined);
    }
  },
};
