#!/usr/bin/env node
'use strict';
/**
 * hull's benchmark suite.
 *
 *   npm run bench                      every part
 *   npm run bench -- launch stats      some parts
 *   npm run bench -- --quick [PART..]  few runs (development; noisy)
 *   npm run bench -- --plot [PART..]   also draw results/<part>.svg (bars of medians, p95 whiskers)
 *   npm run bench -- --plot-only       redraw every chart and bench/README.md from the saved
 *                                      results, without running anything
 *
 * Options: --no-build (do not run build:ts first), --no-install (do not apt-get missing tools),
 * --nice N (default -10 for a full run, 0 for --quick), --seed N, --quiet-load L (wait, at most
 * 60 s, for the 1-minute load average to drop below L before each part; default 1.0).
 *
 * Root only. On a hybrid cgroup host whose cgroup2 still has controllers, crun 1.8 refuses to
 * run; the suite then re-executes itself in a private mount namespace and bind-mounts an empty
 * file over /sys/fs/cgroup/unified/cgroup.controllers there (the host is not changed). Every
 * contestant, hull included, runs in that namespace, so all see the same host.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const env = require('./lib/env');
const report = require('./lib/report');

const PARTS = ['launch', 'launch-detached', 'stats', 'stats-scale', 'exec', 'parallel', 'memory', 'tty'];

const INTRO = `
\`npm run bench\` measures hull against runc, crun and kernel floors on this machine; \`npm run bench -- NAME\` runs one part
(${PARTS.map((p) => `\`${p}\``).join(', ')}). Each part interleaves its contestants, one run of each per iteration in a
shuffled order, so that load on the (shared) machine hits all alike, and keeps going until every median has settled (changes by
≤ 2 % over 10 more iterations) or a run limit. Targets are ratios taken per iteration (paired) in the same run, never
absolute numbers. Every sample is in \`bench/results/<part>.json\`; the tables below are \`bench/results/<part>.md\`.

### Reproduce

\`\`\`sh
npm ci && npm run build          # the addon and dist/
npm run bench                    # every part (about 25 minutes), as root; or: npm run bench -- launch exec
npm run bench -- --quick         # a few runs of each, for development (noisy)
npm run bench -- --plot          # the same, and draw results/<part>.svg (medians, p95 whiskers; vega-lite)
npm run bench -- --plot-only     # redraw the charts and this file from the saved results
\`\`\`

To cross-check a CLI row with hyperfine (installed by the suite), inside the same workaround namespace, e.g.
\`unshare -m --propagation private sh -c 'mount --bind /tmp/empty /sys/fs/cgroup/unified/cgroup.controllers &&
hyperfine -N -w 3 -r 30 "crun --root /tmp/r run -b BUNDLE x" "env -u NODE_EXTRA_CA_CERTS node bin/hull.js --root /tmp/h run -b BUNDLE y"'\`
(the bundles are what \`bench/lib/bundle.js\` writes; ids can be reused since \`run\` deletes the container).

Profiling helpers: \`node bench/tools/profile-executor.js [--prof DIR] [--interval MS] [--strace]\` (one executor's CPU and
wakeups idle and while streaming stats, optionally under \`--cpu-prof\` or \`strace -c\`), and
\`node bench/tools/cpuprof-top.js FILE.cpuprofile [N] [--tree NAME]\` (the heaviest functions of a \`node --cpu-prof\` profile).

The suite installs what it lacks from Debian with apt-get (runc, crun, busybox-static, hyperfine, gcc, strace, util-linux)
when \`command -v\` does not find it, compiles \`bench/floor/*.c\` with \`cc\` into its tmpdir, builds busybox bundles under a
tmpdir, uses state roots there for hull (\`--root\`), runc and crun, names every container and cgroup \`hull-bench-<pid>-<n>\`,
and at the end deletes everything and checks that no \`hull-bench\` cgroup, container or process is left (it exits non-zero
if one is). CLI contestants are started by \`bench/floor/spawn.c\` (posix_spawn, timed with CLOCK_MONOTONIC), not by Node.

On this hybrid-cgroup host crun 1.8 refuses to start anything while cgroup2 has a controller (hugetlb here): the suite runs
in a private mount namespace with an empty file bind-mounted over \`/sys/fs/cgroup/unified/cgroup.controllers\`, hull and
runc included. The bundles use hull's default spec with \`ociVersion\` 1.1.0, since crun 1.8 refuses 1.2.0.
`;

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function parseArgs(argv) {
  const o = { parts: [], quick: false, plot: false, build: true, install: true, nice: undefined, seed: 42, quietLoad: 1.0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--plot') o.plot = true;
    else if (a === '--plot-only') o.plotOnly = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-install') o.install = false;
    else if (a === '--nice') o.nice = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--quiet-load') o.quietLoad = Number(argv[++i]);
    else if (a === '-h' || a === '--help') {
      const text = fs.readFileSync(__filename, 'utf8');
      process.stdout.write(`${text.slice(text.indexOf('/**') + 4, text.indexOf('*/')).replace(/^ \* ?/gm, '').trim()}\n`);
      process.exit(0);
    } else if (PARTS.includes(a)) o.parts.push(a);
    else {
      process.stderr.write(`unknown part or option \`${a}\`; parts: ${PARTS.join(', ')}\n`);
      process.exit(2);
    }
  }
  return o;
}

function harnessOptions(o, name) {
  if (o.quick) return { minRuns: 5, maxRuns: 5, warmup: 1, checkEvery: 5, settle: 0.05, maxSeconds: 120, seed: o.seed, log };
  const slow = { 'launch-detached': 180, exec: 120 }[name];
  return { minRuns: 30, maxRuns: slow ? 80 : 150, warmup: 3, checkEvery: 10, settle: 0.02, maxSeconds: slow ?? 240, seed: o.seed, log };
}

async function plotParts(names) {
  const { plot } = require('./lib/plot');
  for (const p of report.readParts(names)) {
    try {
      await plot(p);
    } catch (e) {
      log(`plot ${p.part}: ${e.message}`);
    }
  }
}

function writeReadme() {
  fs.writeFileSync(path.join(report.BENCH, 'README.md'), report.readme(PARTS, INTRO));
}

/** Re-executes in a private mount namespace with the crun workaround when this host needs it. */
function maybeEnterNamespace(argv) {
  if (process.env.HULL_BENCH_NS === '1' || !env.unifiedControllers()) return false;
  log(`hybrid cgroups with cgroup2 controllers (${env.unifiedControllers()}): re-running in a private mount namespace (crun workaround)`);
  const child = spawn('unshare', ['--mount', '--propagation', 'private', process.execPath, __filename, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, HULL_BENCH_NS: '1' },
  });
  // the child gets terminal signals itself and cleans up; forward the others
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => child.kill(s === 'SIGINT' ? 'SIGINT' : s));
  child.on('exit', (code, sig) => process.exit(code ?? 128 + (os.constants.signals[sig] ?? 0)));
  return true;
}

async function main() {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (o.plotOnly) {
    await plotParts(PARTS);
    for (const p of report.readParts(PARTS)) fs.writeFileSync(path.join(report.RESULTS, `${p.part}.md`), `${report.renderPart(p)}\n`);
    writeReadme();
    log('charts, results/*.md and bench/README.md redrawn from bench/results/*.json');
    return 0;
  }
  if (process.getuid() !== 0) {
    process.stderr.write('the bench needs root (namespaces, mounts, cgroups)\n');
    return 2;
  }
  if (process.env.HULL_BENCH_NS !== '1') {
    if (o.install) env.ensureTools(log);
    if (o.build) {
      // the whole of build:ts: the CLI rows run the bundle it makes, not dist/cli/main.js
      log('building dist/ (npm run build:ts; --no-build skips)');
      const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: path.resolve(__dirname, '..'), stdio: 'inherit' });
      if (r.status !== 0) log('build:ts failed: benchmarking the dist/ that is there');
    }
  }
  if (!fs.existsSync(path.resolve(__dirname, '../dist/index.js'))) {
    process.stderr.write('dist/ is not built: run `npm run build` first\n');
    return 2;
  }
  if (maybeEnterNamespace(argv)) return undefined; // the child does the work
  // Node contestants must not parse a CA bundle at every start (see perf-anchors.md)
  delete process.env.NODE_EXTRA_CA_CERTS;
  const nice = o.nice ?? (o.quick ? 0 : -10);
  try {
    os.setPriority(0, nice);
  } catch (e) {
    log(`setpriority ${nice}: ${e.message}`);
  }

  const { Context } = require('./lib/context');
  const ctx = new Context({ quick: o.quick, log });
  if (process.env.HULL_BENCH_NS === '1') {
    const empty = path.join(ctx.tmp, 'empty');
    fs.writeFileSync(empty, '');
    spawnSync('mount', ['--bind', empty, '/sys/fs/cgroup/unified/cgroup.controllers'], { stdio: 'inherit' });
  }
  let stopping = false;
  const onSignal = async (sig) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: cleaning up`);
    const errs = await ctx.cleanup();
    for (const e of errs) log(`cleanup: ${e}`);
    ctx.removeTmp();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const machine = env.machine();
  const parts = o.parts.length ? o.parts : PARTS;
  let failed = false;
  try {
    for (const name of parts) {
      const part = require(`./parts/${name}`);
      const loadBefore = o.quick ? env.loadavg()[0] : await env.waitQuiet(o.quietLoad, 60, log);
      const before = env.loadavg();
      log(`${name}: start (load ${loadBefore}${o.quick ? ', quick' : ''})`);
      const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      let res;
      try {
        res = await part.run(ctx, { quick: o.quick, harness: harnessOptions(o, name), seed: o.seed });
      } catch (e) {
        failed = true;
        log(`${name}: FAILED: ${e.stack || e}`);
        res = { failed: true, error: String(e.stack || e), rows: [], targets: [], notes: [], skipped: [`the part failed: ${String(e.message || e).split('\n')[0]}`] };
      }
      const errs = await ctx.cleanup();
      for (const e of errs) log(`${name}: cleanup: ${e}`);
      const full = {
        part: name,
        description: part.description,
        date,
        quick: o.quick,
        nice,
        load: { before, after: env.loadavg() },
        machine,
        ...res,
      };
      if (res.failed) {
        // keep the last good results of this part; say what happened next to them
        fs.mkdirSync(report.RESULTS, { recursive: true });
        fs.writeFileSync(path.join(report.RESULTS, `${name}.failed.json`), `${JSON.stringify(full, null, 1)}\n`);
        log(`${name}: FAILED; bench/results/${name}.json keeps the previous results, the failure is in ${name}.failed.json`);
        continue;
      }
      fs.rmSync(path.join(report.RESULTS, `${name}.failed.json`), { force: true });
      report.writePart(full);
      if (o.plot || fs.existsSync(path.join(report.RESULTS, `${name}.svg`))) await plotParts([name]);
      report.writePart(full); // again, so that the .md shows the chart
      writeReadme();
      log(`${name}: done → bench/results/${name}.json, .md`);
      for (const t of full.targets) log(`  target ${t.row}: ${t.label} ${t.status} (${t.value === null ? '–' : t.value.toFixed(3)} vs ${t.limit})`);
    }
  } finally {
    const errs = await ctx.cleanup();
    for (const e of errs) log(`cleanup: ${e}`);
    const left = ctx.leftovers();
    if (left.length) {
      failed = true;
      log(`LEFT BEHIND (${left.length}):`);
      for (const l of left) log(`  ${l}`);
    } else log('clean: no hull-bench cgroup, container or process left');
    ctx.removeTmp();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
  },
);
