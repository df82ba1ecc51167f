/**
 * Bundles hull must refuse: the CLI exits non-zero with a `hull: ...` message naming the field
 * or path at fault, and nothing is left on the host (no process, mount, cgroup or state), also
 * when the failure comes from inside the container's init after clone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container } from '../../lib/container/container';
import { HullError } from '../../lib/errors';
import type { Spec } from '../../lib/oci/schema';
import { type HullResult, describeContainers, settledLeftovers } from '../helpers/host';
import type { Bundle } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

const suite = containerSuite({ removeWith: 'cli' });

function bundle(edit: (s: Spec, b: Bundle) => void): Bundle {
  const b = suite.bundle(['true']);
  edit(b.config, b);
  b.write();
  return b;
}

/** `hull <verb> -b BUNDLE ID`; expects a failure, and that nothing of the container is left. */
async function refused(verb: 'create' | 'run', b: Bundle, globals?: string[]): Promise<HullResult> {
  const id = suite.newId(verb);
  const r = suite.cli([verb, '-b', b.dir, id], globals);
  expect(r.status).not.toBe(0);
  expect(r.status).not.toBeNull();
  expect(r.stdout).toBe('');
  // one line, hull's, and no stack trace
  expect(r.stderr).toMatch(/^hull: [^\n]+\n$/);
  expect(await settledLeftovers(id, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
  return r;
}

describeContainers('bad bundles: refused before anything runs', () => {
  test('a missing rootfs names root.path and the path', async () => {
    const b = bundle((_s, b) => fs.rmSync(b.rootfs, { recursive: true }));
    const r = await refused('create', b);
    expect(r.stderr).toBe(`hull: invalid config: root.path: \`${b.rootfs}\` does not exist\n`);
  });

  test('a malformed config.json names the file and where', async () => {
    const b = bundle(() => undefined);
    fs.writeFileSync(path.join(b.dir, 'config.json'), '{ "ociVersion": "1.2.0", ');
    const r = await refused('create', b);
    expect(r.stderr).toMatch(/^hull: invalid config: config\.json: malformed json at line 1, column \d+ in `.*\/config\.json`/);
    expect(r.stderr).toContain(path.join(b.dir, 'config.json'));
  });

  test('an unknown namespace type names the field and the value', async () => {
    const b = bundle((s) => s.linux!.namespaces!.push({ type: 'bogus' as 'pid' }));
    const n = b.config.linux!.namespaces!.length - 1;
    const r = await refused('create', b);
    expect(r.stderr).toMatch(new RegExp(`^hull: invalid config: linux\\.namespaces\\[${n}\\]\\.type: .*"bogus"`));
  });

  test('a relative mount destination names the mount', async () => {
    const b = bundle((s) => s.mounts!.push({ destination: 'relative/dir', type: 'tmpfs', source: 'tmpfs' }));
    const n = b.config.mounts!.length - 1;
    const r = await refused('create', b);
    expect(r.stderr).toBe(`hull: invalid config: mounts[${n}].destination: must be an absolute path, got "relative/dir"\n`);
  });

  test('a user namespace is refused as unsupported, naming the field', async () => {
    const b = bundle((s) => s.linux!.namespaces!.push({ type: 'user' }));
    const n = b.config.linux!.namespaces!.length - 1;
    const r = await refused('create', b);
    expect(r.stderr).toMatch(new RegExp(`^hull: unsupported config: linux\\.namespaces\\[${n}\\]\\.type: user namespaces`));
  });
});

describeContainers('bad bundles: failures inside the container\'s init', () => {
  test('a process.args[0] that does not exist fails create, naming it', async () => {
    const b = bundle((s) => (s.process!.args = ['no-such-binary', 'arg']));
    const r = await refused('create', b);
    expect(r.stderr).toBe('hull: exec `no-such-binary`: no such file or directory\n');
    const viaRun = await refused('run', b);
    expect(viaRun.stderr).toBe(r.stderr);
  });

  test('a mount source that does not exist names the mount and the path, with code ENOENT and a step', async () => {
    const missing = path.join(suite.root.dir, 'no-such-source');
    const b = bundle((s) => s.mounts!.push({ destination: '/mnt', type: 'bind', source: missing, options: ['rbind', 'ro'] }));
    const r = await refused('create', b);
    expect(r.stderr).toBe(`hull: mount \`${missing}\` on \`/mnt\`: no such file or directory\n`);

    // the library's error carries the errno code and the setup step that failed
    const id = suite.newId('lib');
    const err = await Container.create({ id, bundle: b.dir, root: suite.root.dir }).then(
      async (c) => {
        await c.delete(true);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HullError);
    expect(err).toMatchObject({ code: 'ENOENT', step: 'mount', message: `mount \`${missing}\` on \`/mnt\`: no such file or directory` });
    expect(await settledLeftovers(id, { root: suite.root.dir, bundle: b.dir })).toEqual([]);
  });
});

describeContainers('bad bundles: the error log', () => {
  test('--log F --log-format json gets a JSON line with level error and the message', async () => {
    const t = suite.dir('log');
    const log = path.join(t.dir, 'hull.log');
    const b = bundle((s) => s.mounts!.push({ destination: 'relative', type: 'tmpfs', source: 'tmpfs' }));
    const r = await refused('create', b, ['--log', log, '--log-format', 'json']);
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'error', msg: r.stderr.replace(/^hull: /, '').trimEnd() });
    expect(entry['msg']).toContain('destination');
  });
});
