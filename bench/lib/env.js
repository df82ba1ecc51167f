'use strict';
/** The host: tools the suite needs, what the machine is, the crun workaround, and waiting for a quiet moment. */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function out(cmd, args, fallback = '') {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return (e.stdout && String(e.stdout).trim()) || fallback;
  }
}

function isStatic(file) {
  // ldd's verdict for a static binary ("not a dynamic executable") comes on stderr with status 1
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  return /not a dynamic executable|statically linked/.test(`${r.stdout}${r.stderr}`);
}

/**
 * Debian packages for the commands the suite runs, installed with apt-get only when
 * `command -v` does not find the command (busybox must also be the static build).
 */
function ensureTools(log) {
  const need = new Set();
  const want = [
    ['runc', 'runc'],
    ['crun', 'crun'],
    ['hyperfine', 'hyperfine'],
    ['cc', 'gcc'],
    ['nsenter', 'util-linux'],
    ['unshare', 'util-linux'],
    ['strace', 'strace'],
  ];
  for (const [cmd, pkg] of want) if (!has(cmd)) need.add(pkg);
  if (!has('busybox') || !fs.existsSync('/bin/busybox') || !isStatic('/bin/busybox')) need.add('busybox-static');
  if (!need.size) return [];
  const pkgs = [...need];
  log(`installing from Debian: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  }
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed`);
  return pkgs;
}

function cgroupMode() {
  const t = out('stat', ['-fc', '%T', '/sys/fs/cgroup']);
  if (t === 'cgroup2fs') return 'v2 (unified)';
  const unified = fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers');
  return unified ? 'hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)' : 'v1 (legacy)';
}

/** The v2 controllers left on /sys/fs/cgroup/unified on a hybrid host ('' when none or not hybrid). */
function unifiedControllers() {
  try {
    if (out('stat', ['-fc', '%T', '/sys/fs/cgroup']) === 'cgroup2fs') return '';
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim();
  } catch {
    return '';
  }
}

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || 'unknown';
  const memKiB = Number((fs.readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s*(\d+)/) || [])[1] || 0);
  let osName = '';
  try {
    osName = (fs.readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="?([^"\n]*)/) || [])[1] || '';
  } catch {
    // none
  }
  const first = (s) => s.split('\n')[0];
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu,
    memory: `${(memKiB / 1048576).toFixed(1)} GiB`,
    kernel: os.release(),
    os: osName,
    cgroups: cgroupMode(),
    node: process.version,
    runc: first(out('runc', ['--version'], 'missing')),
    crun: first(out('crun', ['--version'], 'missing')),
    busybox: first(out('/bin/busybox', [], 'missing')).replace(/ multi-call binary.*/, ''),
    hyperfine: out('hyperfine', ['--version'], 'missing'),
    hull: JSON.parse(fs.readFileSync(require.resolve('../../package.json'), 'utf8')).version,
  };
}

function loadavg() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** Waits (at most maxSeconds) for the 1-minute load average to drop below `below`; returns it. */
async function waitQuiet(below, maxSeconds, log) {
  const t0 = Date.now();
  let l = loadavg()[0];
  if (l < below) return l;
  log(`load ${l} ≥ ${below}: waiting up to ${maxSeconds} s for a quieter moment`);
  while (l >= below && Date.now() - t0 < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 5000));
    l = loadavg()[0];
  }
  return l;
}

module.exports = { ensureTools, machine, loadavg, waitQuiet, unifiedControllers, has, out };
