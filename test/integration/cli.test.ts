/**
 * The `hull` CLI end to end: `node bin/hull.js --root <tmp> ...` on busybox bundles, each
 * checked against what the kernel shows inside the container and against what is left on the
 * host after; and the same bundle under runc for comparison.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Spec } from '../../lib/oci/schema';
import {
  HULL_BIN,
  type HullResult,
  type Background,
  alive,
  catchesSignal,
  describeContainers,
  hullBackground,
  ok,
  pidsInCgroupsNamed,
  settledLeftovers,
  waitFor,
  waitForExec,
} from '../helpers/host';
import { DEFAULT_CAP_HEX, NO_CAPS, mountPoints, parseMountinfo, statusFields } from '../helpers/parse';
import type { Bundle } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

let background: Background[] = [];

const suite = containerSuite({
  removeWith: 'cli',
  // a foreground `hull run` started in the background exits once its container is deleted
  afterRemove: async () => {
    for (const bg of background) await bg.stop();
    background = [];
  },
});

const cli = (args: string[], globals?: string[]): HullResult => suite.cli(args, globals);

/** `hull run -b BUNDLE ID` in the foreground: exits with the container's status. */
function run(args: string[], edit?: (s: Spec) => void): HullResult & { id: string; bundle: Bundle } {
  const b = suite.bundle(args, edit);
  const id = suite.newId('run');
  return { ...cli(['run', '-b', b.dir, id]), id, bundle: b };
}

/** Runs a shell script with `hull run`, expects exit 0, gives stdout. */
function sh(script: string, edit?: (s: Spec) => void): string {
  const r = run(['sh', '-c', script], edit);
  if (r.status !== 0) throw new Error(`hull run exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function stateOf(id: string): Record<string, unknown> {
  return JSON.parse(ok(cli(['state', id])).stdout) as Record<string, unknown>;
}

/** Starts `hull run` of a bundle in the background and waits for its init to run the task. */
async function runInBackground(args: string[]) {
  const b = suite.bundle(args);
  const id = suite.newId('bg');
  const bg = hullBackground(suite.root.dir, ['run', '-b', b.dir, id]);
  background.push(bg);
  const pid = await waitFor(`container ${id} to run`, () => suite.recorded(id)?.status === 'running' && suite.recorded(id)?.pid);
  expect(stateOf(id)).toMatchObject({ status: 'running', pid });
  return { id, bundle: b, bg, pid };
}

describeContainers('hull CLI: what runs inside', () => {
  test('hull run: the init is pid 1, runs process.args, has the config\'s hostname', () => {
    const script = 'echo $$; hostname; cat /proc/1/cmdline; exit 0';
    const out = sh(script, (s) => {
      s.hostname = 'cli-box';
    });
    expect(out).toBe(`1\ncli-box\nsh\0-c\0${script}\0`);
  });

  test('mountinfo shows the config\'s mounts and nothing of the host', () => {
    const out = sh('cat /proc/self/mountinfo');
    const points = mountPoints(out);
    const base = ['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'];
    for (const p of base) expect(points).toContain(p);
    const spec = suite.bundles[0]!.config;
    const allowed = new Set([...base, ...(spec.linux?.maskedPaths ?? []), ...(spec.linux?.readonlyPaths ?? [])]);
    expect(points.filter((p) => !allowed.has(p) && !p.startsWith('/sys/fs/cgroup/'))).toEqual([]);
    for (const { point, source } of parseMountinfo(out)) {
      for (const host of ['/work', '/run/hull', '/mnt/', suite.root.dir]) {
        expect(point.startsWith(host)).toBe(false);
        expect(source.startsWith(host)).toBe(false);
      }
    }
  });

  test('masked paths read empty; read-only paths refuse writes', () => {
    const out = sh(
      [
        'echo keys=$(wc -c < /proc/keys)',
        'echo firmware=$(ls -A /sys/firmware | wc -l)',
        '[ -e /proc/kcore ] && echo kcore=$(wc -c < /proc/kcore) || echo kcore=absent',
        'if echo evil > /proc/sys/kernel/hostname; then echo sysctl=written; else echo sysctl=refused; fi',
        'if touch /proc/sysrq-trigger; then echo sysrq=written; else echo sysrq=refused; fi',
      ].join('\n'),
    );
    expect(out).toBe(`keys=0\nfirmware=0\n${fs.existsSync('/proc/kcore') ? 'kcore=0' : 'kcore=absent'}\nsysctl=refused\nsysrq=refused\n`);
  });

  test('uid, gid and supplementary groups are exactly the config\'s', () => {
    const none = sh('id; grep ^Groups: /proc/self/status', (s) => {
      s.process!.user = { uid: 65534, gid: 65534 };
    });
    expect(none).toMatch(/^uid=65534\(nobody\) gid=65534\(nogroup\)\nGroups:\s*\n$/);
    const two = sh('id -G; grep ^Groups: /proc/self/status', (s) => {
      s.process!.user = { uid: 65534, gid: 65534, additionalGids: [10, 20] };
    });
    const [gids, groups] = two.split('\n');
    expect(gids?.split(' ').sort()).toEqual(['10', '20', '65534']);
    expect(groups?.split(/\s+/).slice(1).filter(Boolean)).toEqual(['10', '20']);
  });

  test('capabilities and no_new_privs', () => {
    expect(statusFields(sh('cat /proc/self/status'))).toMatchObject({
      CapBnd: DEFAULT_CAP_HEX,
      CapPrm: DEFAULT_CAP_HEX,
      CapEff: DEFAULT_CAP_HEX,
      CapInh: NO_CAPS,
      CapAmb: NO_CAPS,
      NoNewPrivs: '1',
    });
    const nobody = statusFields(
      sh('cat /proc/self/status', (s) => {
        s.process!.user = { uid: 65534, gid: 65534 };
        s.process!.noNewPrivileges = false;
      }),
    );
    expect(nobody).toMatchObject({ CapBnd: DEFAULT_CAP_HEX, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapAmb: NO_CAPS, NoNewPrivs: '0' });
  });

  test('rlimits, environment and cwd are the config\'s', () => {
    // the default config's RLIMIT_NOFILE is 1024/1024 (this VM cannot raise a hard limit above 20000)
    expect(sh('ulimit -n; ulimit -Hn; pwd', (s) => (s.process!.cwd = '/tmp'))).toBe('1024\n1024\n/tmp\n');
    // hull itself runs with the test's environment (JEST_WORKER_ID, HULL_TEST_MARKER): none of it gets in
    const env = ['PATH=/bin', 'A=b c'];
    const r = run(['env'], (s) => (s.process!.env = env));
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([...env].sort());
  });

  test('hull run exits with the container\'s exit code', () => {
    expect(run(['sh', '-c', 'exit 3']).status).toBe(3);
    expect(run(['false']).status).toBe(1);
  });

  test('a run loads one file of hull\'s, and without a terminal none of the terminal code (tty, net)', () => {
    const b = suite.bundle(['true']);
    const t = suite.dir('modules');
    const list = path.join(t.dir, 'loaded.json');
    const preload = path.join(t.dir, 'preload.js');
    fs.writeFileSync(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
    );
    const r = spawnSync(process.execPath, ['--require', preload, HULL_BIN, '--root', suite.root.dir, 'run', '-b', b.dir, suite.newId('mods')], {
      stdio: 'ignore',
      timeout: 8000,
    });
    expect(r.status).toBe(0);
    const loaded = JSON.parse(fs.readFileSync(list, 'utf8')) as { builtins: string[]; files: string[] };
    expect(loaded.builtins).toContain('NativeModule fs'); // the list is the real one
    expect(loaded.builtins.filter((m) => /^NativeModule (tty|net)$/.test(m))).toEqual([]);
    // the bundle is not require()d but loaded with its code cache; the addon is the other file
    const dist = path.join(path.dirname(HULL_BIN), '..', 'dist');
    expect(loaded.files.filter((f) => f.startsWith(dist)).map((f) => path.relative(dist, f))).toEqual(['cli/boot.js']);
  });

  test('output through a pipe arrives whole, and the exit code with it', () => {
    const r = spawnSync(process.execPath, [HULL_BIN, 'features'], { encoding: 'utf8', timeout: 8000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ociVersionMax: expect.any(String) });
    const bad = spawnSync(process.execPath, [HULL_BIN, 'no-such-command'], { encoding: 'utf8', timeout: 8000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^hull: unknown command `no-such-command`/);
  });

  test('the CLI is one bundled file, and V8 takes its code cache', () => {
    const dist = path.join(path.dirname(HULL_BIN), '..', 'dist');
    const script = `const p = require('path'); const d = ${JSON.stringify(dist)};
      const r = require(p.join(d, 'cli/boot.js')).loadBundle(p.join(d, 'hull-cli.js'), p.join(d, 'hull-cli.cache'));
      console.log(r.cache, typeof r.exports.main);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 8000 });
    expect(r.stdout.trim()).toBe('accepted function');
  });
});

describeContainers('hull CLI: lifecycle verbs', () => {
  test('a SIGKILL from outside: hull run exits 137', async () => {
    const { id, bg, pid } = await runInBackground(['sleep', '100']);
    ok(cli(['kill', id, 'KILL']));
    const r = await bg.done;
    expect(r.status).toBe(137);
    expect(alive(pid)).toBe(false);
  });

  test('create, then start: created with a live init and a pid file; running; stopped with pid 0', async () => {
    const b = suite.bundle(['sleep', '100']);
    const id = suite.newId('cs');
    const t = suite.dir('pid');
    const pidFile = path.join(t.dir, 'pid');
    ok(cli(['create', '-b', b.dir, '--pid-file', pidFile, id]));
    const created = stateOf(id);
    expect(created).toMatchObject({ id, status: 'created', bundle: b.dir });
    const pid = created['pid'] as number;
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(pid));
    // the init waits for start: it has not exec'd the task
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('sleep');
    ok(cli(['start', id]));
    expect(stateOf(id)).toMatchObject({ status: 'running', pid });
    await waitForExec(pid, ['sleep', '100'], 3000);
    ok(cli(['kill', id, 'KILL']));
    await waitFor('the init to exit', () => !alive(pid));
    expect(stateOf(id)).toMatchObject({ status: 'stopped', pid: 0 });
    ok(cli(['delete', id]));
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
  });

  test('kill sends SIGTERM by default: a trapping init exits 7', async () => {
    const { id, bg, pid } = await runInBackground(['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    await waitFor('the TERM trap', () => catchesSignal(pid, 15));
    ok(cli(['kill', id]));
    expect((await bg.done).status).toBe(7);
  });

  test('kill --all signals every process, not only the init', async () => {
    // TERM kills the sleeps; the shell is pid 1 of its namespace without a handler, so it lives on
    const { id, bg, pid } = await runInBackground(['sh', '-c', 'sleep 100 & sleep 100 & wait; exit 5']);
    await waitFor('three processes', () => pidsInCgroupsNamed(id).length === 3);
    const pids = JSON.parse(ok(cli(['ps', '--format', 'json', id])).stdout) as number[];
    expect(pids).toHaveLength(3);
    expect(pids).toContain(pid);
    ok(cli(['kill', '--all', id]));
    expect((await bg.done).status).toBe(5);
    for (const p of pids) expect(alive(p)).toBe(false);
  });

  test('delete removes a stopped container', async () => {
    const stopped = suite.bundle(['true']);
    const sid = suite.newId('del');
    ok(cli(['run', '-d', '-b', stopped.dir, sid]));
    const spid = suite.recorded(sid)?.pid as number;
    await waitFor('the init to exit', () => !alive(spid));
    expect(stateOf(sid)).toMatchObject({ status: 'stopped', pid: 0 });
    ok(cli(['delete', sid]));
    expect(await settledLeftovers(sid, { root: suite.root.dir, bundle: stopped.dir })).toEqual([]);
  });

  test('delete of a running container fails without -f, naming its status, and kills it with -f', async () => {
    const running = suite.bundle(['sleep', '100']);
    const rid = suite.newId('del');
    ok(cli(['run', '-d', '-b', running.dir, rid]));
    const pid = stateOf(rid)['pid'] as number;
    const refused = cli(['delete', rid]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toBe(`hull: cannot delete container \`${rid}\`: it is running: stop it first, or use --force\n`);
    expect(alive(pid)).toBe(true);
    ok(cli(['delete', '-f', rid]));
    expect(await settledLeftovers(rid, { root: suite.root.dir, bundle: running.dir })).toEqual([]);
    expect(alive(pid)).toBe(false);
  });

  test('run -d returns with the container running; state, list and ps describe it', async () => {
    const b = suite.bundle(['sleep', '100'], (s) => {
      s.annotations = { 'org.example/test': 'yes' };
    });
    const id = suite.newId('d');
    const started = Date.now();
    ok(cli(['run', '-d', '-b', b.dir, id]));
    expect(Date.now() - started).toBeLessThan(5000);
    const st = stateOf(id);
    expect(Object.keys(st)).toEqual(expect.arrayContaining(['ociVersion', 'id', 'status', 'pid', 'bundle', 'annotations']));
    expect(st).toMatchObject({ ociVersion: '1.2.0', id, status: 'running', bundle: b.dir, annotations: { 'org.example/test': 'yes' } });
    const pid = st['pid'] as number;
    expect(alive(pid)).toBe(true);
    await waitForExec(pid, ['sleep', '100'], 3000);

    const list = JSON.parse(ok(cli(['list', '--format', 'json'])).stdout) as Record<string, unknown>[];
    expect(list.find((s) => s['id'] === id)).toMatchObject({ id, status: 'running', pid });
    expect(ok(cli(['list', '-q'])).stdout.split('\n')).toContain(id);
    expect(JSON.parse(ok(cli(['ps', '--format', 'json', id])).stdout)).toEqual([pid]);

    ok(cli(['delete', '-f', id]));
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
    expect(JSON.parse(ok(cli(['list', '--format', 'json'])).stdout)).toEqual([]);
  });
});

describeContainers('hull sandbox', () => {
  test('runs a command isolated on the host\'s read-only directories, and leaves nothing', async () => {
    const id = suite.newId('sbx');
    const sandboxBundle = path.join(suite.root.dir, '.sandbox', id);
    const hi = cli(['sandbox', '--name', id, '--', 'sh', '-c', 'echo hi from $(hostname)']);
    expect(hi).toMatchObject({ status: 0, stdout: `hi from ${id}\n` });
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: sandboxBundle })).toEqual([]);
    expect(fs.existsSync(sandboxBundle)).toBe(false);

    const script = 'touch /usr/hull-x 2>/dev/null && echo usr=rw || echo usr=ro; touch /tmp/x && echo tmp=rw; pwd; exit 0';
    const fsCheck = cli(['sandbox', '--name', id, '--', 'sh', '-c', script]);
    expect(fsCheck).toMatchObject({ status: 0, stdout: 'usr=ro\ntmp=rw\n/task\n' });
    expect(fs.existsSync('/usr/hull-x')).toBe(false);
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: sandboxBundle })).toEqual([]);
    expect(fs.existsSync(sandboxBundle)).toBe(false);
  });
});

describeContainers('hull and runc', () => {
  const runcPath = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => fs.existsSync(p));

  test('the same bundle gives the same view from inside under runc run and hull run', async () => {
    // the separator is computed, so that the script's own text in /proc/1/cmdline does not hold it
    const sep = 'echo "=$((6*7))="';
    const script = ['id', sep, 'hostname', sep, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status", sep, 'cat /proc/1/cmdline', 'echo', sep, 'cat /proc/self/mountinfo'].join('\n');
    if (!runcPath) throw new Error('runc is not installed (apt-get install runc): it is the reference this test compares hull with');
    const b = suite.bundle(['sh', '-c', script]);
    const runcId = suite.newId('runc');
    const runcRoot = suite.dir('runc');
    const viaRunc = spawnSync(runcPath as string, ['--root', runcRoot.dir, 'run', runcId], { cwd: b.dir, encoding: 'utf8', timeout: 8000 });
    expect(viaRunc.stderr).toBe('');
    expect(viaRunc.status).toBe(0);
    expect(await settledLeftovers(runcId, { bundle: b.dir })).toEqual([]);
    const hullId = suite.newId('hull');
    const viaHull = ok(cli(['run', '-b', b.dir, hullId]));

    const sections = (out: string) => {
      const parts = out.split('=42=\n');
      // on hybrid hosts hull also mounts the container's cgroup2 directory at /sys/fs/cgroup/unified
      // and binds each hierarchy's own directory where runc binds a cgroup namespace's root: the
      // hierarchies under /sys/fs/cgroup are left out, /sys/fs/cgroup itself is compared
      const points = mountPoints(parts[4] ?? '')
        .filter((p) => !p.startsWith('/sys/fs/cgroup/'))
        .sort();
      expect(parts).toHaveLength(5);
      return [...parts.slice(0, 4), points];
    };
    const [hId, hHost, hStatus, hCmd, hMounts] = sections(viaHull.stdout);
    const [rId, rHost, rStatus, rCmd, rMounts] = sections(viaRunc.stdout);
    expect(hId).toBe(rId);
    expect(hHost).toBe(rHost);
    expect(hStatus).toBe(rStatus);
    expect(hCmd).toBe(rCmd);
    expect(hMounts).toEqual(rMounts);
    expect(hMounts).toEqual(expect.arrayContaining(['/', '/proc', '/dev', '/sys', '/sys/fs/cgroup']));
  });
});
