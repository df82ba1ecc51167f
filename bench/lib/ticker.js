'use strict';
/**
 * Reference processes for stats-scale (run as `node ticker.js MODE INTERVAL_MS SECONDS [PATHS.json]`):
 *   idle-timer  a Node process whose only work is an empty setInterval: the floor of one Node
 *               process waking up once per interval (what any per-task Node process pays)
 *   sampler     ONE process sampling every task's cgroups with hull's statsReader() on one timer
 *               (PATHS.json: [{id, paths}] from the executors' task records), reporting at exit
 *               how late each tick ran, as JSON on stdout
 */
const path = require('node:path');

const [mode, intervalArg, secondsArg, pathsFile] = process.argv.slice(2);
const interval = Number(intervalArg);
const seconds = Number(secondsArg);

if (mode === 'idle-timer') {
  const t = setInterval(() => {}, interval);
  setTimeout(() => clearInterval(t), seconds * 1000);
} else if (mode === 'sampler') {
  const hull = require(path.resolve(__dirname, '../../dist'));
  const tasks = JSON.parse(require('node:fs').readFileSync(pathsFile, 'utf8'));
  const readers = tasks.map((t) => hull.createCgroupManager({ id: t.id, paths: t.paths }).statsReader());
  const t0 = performance.now();
  const late = [];
  let k = 0;
  let sink = 0;
  const tick = () => {
    const now = performance.now();
    late.push(now - (t0 + k * interval));
    for (const r of readers) sink += r.read().memory.usage;
    k = Math.floor((performance.now() - t0) / interval) + 1;
    if (performance.now() - t0 < seconds * 1000) setTimeout(tick, Math.max(0, t0 + k * interval - performance.now()));
    else {
      for (const r of readers) r.close();
      process.stdout.write(`${JSON.stringify({ late, ticks: late.length, sink: sink > 0 })}\n`);
    }
  };
  tick();
} else {
  process.stderr.write('usage: ticker.js idle-timer|sampler INTERVAL_MS SECONDS [PATHS.json]\n');
  process.exit(2);
}
