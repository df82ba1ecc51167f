#!/usr/bin/env node
'use strict';
/**
 * Profiles ONE executor the way stats-scale and memory use it, for the findings in the bench report:
 * starts `node [--cpu-prof] dist/executor/main.js --hull-executor CONFIG` by hand (startExecutor
 * passes no node flags), reattaches to it, launches an isolated `sleep 1000`, then prints the
 * executor's CPU (schedstat of every thread) and context switches: idle, while a stats stream at
 * INTERVAL ms is open, and idle again. With --prof, a .cpuprofile lands in OUT_DIR (read it with
 * bench/tools/cpuprof-top.js; the profiler's own sampling inflates the CPU numbers then).
 *
 *   node bench/tools/profile-executor.js [--prof OUT_DIR] [--interval MS] [--strace]
 *
 * Root; leaves nothing behind (the executor is shut down, its tmpdir removed).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { cpu, switches } = require('../lib/proc');

const REPO = path.resolve(__dirname, '../..');
const hull = require(path.join(REPO, 'dist'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};

async function main() {
  const profDir = arg('--prof');
  const interval = Number(arg('--interval', 1000));
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `hull-bench-prof-${process.pid}-`));
  fs.chmodSync(base, 0o755);
  const stateDir = path.join(base, 'state');
  const taskDir = path.join(base, 'task');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.mkdirSync(taskDir);
  const id = `hull-bench-prof-${process.pid}`;
  const cfg = { isolation: 'isolated', stateDir, id, socket: path.join(stateDir, 'executor.sock'), logFile: path.join(stateDir, 'executor.log'), logLevel: 'warn' };
  const cfgPath = path.join(stateDir, 'executor.json');
  fs.writeFileSync(cfgPath, JSON.stringify(cfg));
  const flags = profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`, '--cpu-prof-interval=200'] : [];
  const child = spawn(process.execPath, [...flags, path.join(REPO, 'dist/executor/main.js'), '--hull-executor', cfgPath], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: {},
    detached: true,
  });
  const ready = JSON.parse(
    await new Promise((resolve) => {
      let t = '';
      child.stdio[3].on('data', (d) => {
        t += d;
        if (t.includes('\n')) resolve(t);
      });
    }),
  );
  child.unref();
  child.stdio[3].destroy();
  const ex = await hull.reattachExecutor({ protocol: hull.PROTOCOL_VERSION, socket: cfg.socket, pid: ready.pid, startTime: ready.startTime, stateDir });
  try {
    await ex.launch({ cmd: '/bin/sleep', args: ['1000'], taskDir });
    const pid = ready.pid;
    const measure = async (label, ms) => {
      const c0 = cpu(pid);
      const s0 = switches(pid);
      await sleep(ms);
      const c1 = cpu(pid);
      console.log(`${label.padEnd(28)} ${((c1.ns - c0.ns) / 1e6).toFixed(1).padStart(8)} ms CPU, ${switches(pid) - s0} context switches in ${ms / 1000} s`);
    };
    await measure('idle, 0-10 s after launch', 10000);
    await measure('idle, 10-30 s', 20000);
    await measure('idle, 30-40 s', 10000);
    const it = ex.stats({ intervalMs: interval })[Symbol.asyncIterator]();
    let n = 0;
    const loop = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        n += 1;
      }
    })();
    if (process.argv.includes('--strace')) {
      const out = path.join(base, 'stream.strace');
      const st = spawn('strace', ['-c', '-f', '-p', String(pid), '-o', out]);
      await measure(`stream at ${interval} ms (strace)`, 10000);
      st.kill('SIGINT');
      await sleep(500);
      process.stdout.write(fs.readFileSync(out, 'utf8'));
    }
    await measure(`stream at ${interval} ms`, 20000);
    console.log(`samples received: ${n}`);
    await it.return();
    await loop.catch(() => undefined);
    await sleep(200);
    await measure('idle again', 10000);
  } finally {
    await ex.shutdown({ signal: 'SIGKILL' });
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
