'use strict';
/**
 * What every part shares: the tmpdir (state roots of hull, runc and crun, the bundles, the
 * compiled helpers), unique ids `hull-bench-<pid>-<n>`, the spawn helper, and the cleanup of
 * every container, executor, cgroup and process the run made, even after an error.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { makeBundle, makeRootfs } = require('./bundle');
const { Spawner } = require('./spawner');

const REPO = path.resolve(__dirname, '../..');
const CGROUP_ROOT = '/sys/fs/cgroup';

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

class Context {
  constructor({ quick, log }) {
    this.quick = quick;
    this.log = log;
    this.repo = REPO;
    this.dist = path.join(REPO, 'dist');
    this.node = process.execPath;
    this.hullBin = path.join(REPO, 'bin/hull.js');
    this.prefix = `hull-bench-${process.pid}`;
    this.n = 0;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${this.prefix}-`));
    fs.chmodSync(this.tmp, 0o755);
    this.roots = { hull: path.join(this.tmp, 'hull'), runc: path.join(this.tmp, 'runc'), crun: path.join(this.tmp, 'crun') };
    for (const d of Object.values(this.roots)) fs.mkdirSync(d, { recursive: true });
    this.containers = new Set(); // hull library Container objects
    this.executors = new Set(); // Executor clients
    this.bins = {};
    this._spawner = undefined;
    this._bundles = undefined;
    this.hull = require(this.dist);
  }

  /** A fresh id; its cgroups are named after it. */
  id(tag = '') {
    this.n += 1;
    return `${this.prefix}-${tag ? `${tag}-` : ''}${this.n}`;
  }

  get executorAvailable() {
    return typeof this.hull.startExecutor === 'function' && fs.existsSync(path.join(this.dist, 'executor/main.js'));
  }

  /** Compiles bench/floor/<name>.c into the tmpdir (once). */
  bin(name) {
    if (!this.bins[name]) {
      const out = path.join(this.tmp, 'bin', name);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      execFileSync('cc', ['-O2', '-Wall', '-o', out, path.join(__dirname, '../floor', `${name}.c`)], { stdio: ['ignore', 'ignore', 'inherit'] });
      this.bins[name] = out;
    }
    return this.bins[name];
  }

  get spawner() {
    this._spawner ??= new Spawner(this.bin('spawn'), path.join(this.tmp, 'spawn.err'));
    return this._spawner;
  }

  /** The shared busybox rootfs and the bundles: `true` (/bin/true) and `sleep` (sleep 1000). */
  get bundles() {
    if (!this._bundles) {
      const rootfs = path.join(this.tmp, 'rootfs');
      makeRootfs(rootfs);
      const b = path.join(this.tmp, 'bundles');
      this._bundles = {
        rootfs,
        true: makeBundle(this.dist, path.join(b, 'true'), rootfs, ['/bin/true']),
        sleep: makeBundle(this.dist, path.join(b, 'sleep'), rootfs, ['/bin/sleep', '1000']),
      };
    }
    return this._bundles;
  }

  // ---- argv builders ----
  hullCli(...args) {
    return [this.node, this.hullBin, '--root', this.roots.hull, ...args];
  }
  runc(...args) {
    return ['runc', '--root', this.roots.runc, ...args];
  }
  crun(...args) {
    return ['crun', '--root', this.roots.crun, ...args];
  }

  // ---- hull library containers and executors, tracked for cleanup ----

  /** Container.create + start of the sleep bundle (or `bundle`), tracked. */
  async hullStart(id, bundle = this.bundles.sleep, extra = {}) {
    const c = await this.hull.Container.create({ id, bundle, root: this.roots.hull, ...extra });
    this.containers.add(c);
    try {
      c.start();
    } catch (e) {
      await this.hullDelete(c);
      throw e;
    }
    return c;
  }

  async hullDelete(c) {
    try {
      await c.delete(true);
    } finally {
      this.containers.delete(c);
    }
  }

  /** A state dir for an executor under the tmpdir (short enough for the socket path). */
  executorDir(id) {
    const base = path.join(this.tmp, 'ex', id.slice(this.prefix.length + 1));
    fs.mkdirSync(path.join(base, 'task'), { recursive: true, mode: 0o755 });
    return { stateDir: path.join(base, 'state'), taskDir: path.join(base, 'task') };
  }

  /** startExecutor (isolated) + launch of `sleep 1000`; returns {ex, startMs, launchMs, pid}. */
  async executorTask(id, { isolation = 'isolated' } = {}) {
    const { stateDir, taskDir } = this.executorDir(id);
    const t0 = performance.now();
    const ex = await this.hull.startExecutor({ isolation, stateDir, id, logLevel: 'warn' });
    this.executors.add(ex);
    const t1 = performance.now();
    const r = await ex.launch({ cmd: '/bin/sleep', args: ['1000'], taskDir });
    const t2 = performance.now();
    return { ex, id, stateDir, startMs: t1 - t0, launchMs: t2 - t1, totalMs: t2 - t0, taskPid: r.pid };
  }

  /** n executor tasks, `concurrency` starting at a time; on failure the started ones are stopped. */
  async executorTasks(n, tag, concurrency = 4) {
    const out = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next += 1;
        out.push(await this.executorTask(this.id(tag)));
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    } catch (e) {
      await Promise.all(out.map((t) => this.executorStop(t.ex).catch(() => undefined)));
      throw e;
    }
    return out;
  }

  async stopAll(tasks) {
    await Promise.all(tasks.map((t) => this.executorStop(t.ex).catch(() => undefined)));
  }

  async executorStop(ex) {
    try {
      await withTimeout(ex.shutdown({ signal: 'SIGKILL' }), 20000, 'executor shutdown');
    } finally {
      this.executors.delete(ex);
    }
  }

  // ---- cleanup ----

  /** Processes of this run: in a cgroup named after our ids, or with the tmpdir in their command line. */
  strayProcesses() {
    const out = [];
    const skip = new Set([process.pid, this._spawner?.proc?.pid]);
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || skip.has(Number(name))) continue;
      let cg = '';
      let cmd = '';
      let stat = '';
      try {
        cg = fs.readFileSync(`/proc/${name}/cgroup`, 'utf8');
        cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue;
      }
      // a zombie is dead already: an exited runtime process (crun's intermediate child, say) that
      // PID 1 has not reaped yet; it holds nothing
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      if (cg.includes(this.prefix) || cmd.includes(this.tmp)) out.push({ pid: Number(name), cmd: cmd || stat.slice(0, stat.indexOf(')') + 1) });
    }
    return out;
  }

  /** Cgroup directories named after our ids, deepest first. */
  strayCgroups() {
    const out = [];
    const walk = (dir, depth) => {
      let ents;
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        if (!e.isDirectory()) continue;
        const p = path.join(dir, e.name);
        if (e.name.startsWith(this.prefix)) out.push(p);
        if (depth < 8) walk(p, depth + 1);
      }
    };
    walk(CGROUP_ROOT, 0);
    return out.sort((a, b) => b.split('/').length - a.split('/').length);
  }

  /** What the CLI runtimes still list under our roots. */
  strayRuntimeContainers() {
    const out = [];
    for (const rt of ['runc', 'crun']) {
      try {
        const ids = execFileSync(rt, ['--root', this.roots[rt], 'list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
          .split('\n')
          .filter(Boolean);
        for (const id of ids) out.push({ rt, id });
      } catch {
        // root missing or runtime missing
      }
    }
    let hullIds = [];
    try {
      hullIds = fs.readdirSync(this.roots.hull);
    } catch {
      // none
    }
    for (const id of hullIds) out.push({ rt: 'hull', id });
    return out;
  }

  /** Deletes everything this run made. Never throws; returns what could not be removed. */
  async cleanup() {
    const errors = [];
    const note = (what, e) => errors.push(`${what}: ${e && e.message ? e.message : e}`);
    await Promise.all([...this.executors].map((ex) => this.executorStop(ex).catch((e) => note('executor shutdown', e))));
    await Promise.all([...this.containers].map((c) => this.hullDelete(c).catch((e) => note(`hull delete ${c.id}`, e))));
    const rt = this.hull.defaultRuntime(this.roots.hull);
    for (const { rt: kind, id } of this.strayRuntimeContainers()) {
      try {
        if (kind === 'hull') await withTimeout(this.hull.remove(rt, id, true), 15000, `hull delete ${id}`);
        else execFileSync(kind, ['--root', this.roots[kind], 'delete', '-f', id], { stdio: 'ignore', timeout: 15000 });
      } catch (e) {
        note(`${kind} delete -f ${id}`, e);
        if (kind === 'hull') fs.rmSync(path.join(this.roots.hull, id), { recursive: true, force: true });
      }
    }
    // executors that lost their client, containers whose runtime state was lost: by pid, ours only
    for (let round = 0; round < 3; round++) {
      const procs = this.strayProcesses();
      const cgs = this.strayCgroups();
      if (!procs.length && !cgs.length) break;
      for (const p of procs) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await sleep(200);
      for (const d of cgs) {
        try {
          fs.rmdirSync(d);
        } catch (e) {
          if (round === 2) note(`rmdir ${d}`, e);
        }
      }
    }
    if (this._spawner) this._spawner.close();
    this._spawner = undefined;
    return errors;
  }

  /** After cleanup: a list of what is left (empty when clean). */
  leftovers() {
    const left = [];
    for (const p of this.strayProcesses()) left.push(`process ${p.pid}: ${p.cmd}`);
    for (const d of this.strayCgroups()) left.push(`cgroup ${d}`);
    for (const c of this.strayRuntimeContainers()) left.push(`${c.rt} container ${c.id}`);
    return left;
  }

  removeTmp() {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

module.exports = { Context, sleep, withTimeout, REPO };
