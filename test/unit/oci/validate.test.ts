import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSpec, fieldPath, loadBundle, validateSpec } from '../../../lib/oci';

// Configs under test are plain JSON that tests edit freely, including into invalid shapes.
type Json = Record<string, any>;

function spec(edit: (s: Json) => void = () => {}): Json {
  const s = defaultSpec() as Json;
  edit(s);
  return s;
}

function errorOf(fn: () => unknown): Error & Json {
  try {
    fn();
  } catch (e) {
    return e as Error & Json;
  }
  throw new Error('expected an error, none was thrown');
}

function expectReject(value: unknown, code: string, field: string, message: RegExp): void {
  const err = errorOf(() => validateSpec(value));
  expect(err).toMatchObject({ name: 'HullError', code, field });
  expect(err.message).toMatch(message);
}

const fixture = (name: string): Json =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')) as Json;

describe('validateSpec: accepted configs', () => {
  test('the default spec validates and is returned as is', () => {
    const s = defaultSpec();
    expect(validateSpec(s)).toBe(s);
  });

  test('a config written by podman 4.x validates', () => {
    expect(() => validateSpec(fixture('podman-config.json'))).not.toThrow();
  });

  test('a minimal 1.0.0 config validates', () => {
    const minimal = {
      ociVersion: '1.0.0',
      process: { user: { uid: 0, gid: 0 }, args: ['/bin/true'], cwd: '/' },
      root: { path: 'rootfs' },
    };
    expect(validateSpec(minimal)).toEqual(minimal);
  });

  test.each(['1.0.0', '1.0.2-dev', '1.1.0', '1.1.0-rc.3', '1.2.0', '1.2.1+dev'])('ociVersion %s', (v) => {
    expect(() => validateSpec(spec((s) => (s['ociVersion'] = v)))).not.toThrow();
  });

  test('unknown properties are ignored, at the top level and nested', () => {
    const s = spec((s) => {
      s['org.example.extension'] = { anything: [1, 2] };
      s['windows'] = { layerFolders: [] };
      s['process']['futureField'] = true;
      s['linux']['memoryPolicy'] = { mode: 'MPOL_BIND' };
    });
    expect(() => validateSpec(s)).not.toThrow();
  });

  test.each<[string, (s: Json) => void]>([
    ['cpu limits', (s) => (s['linux']['resources']['cpu'] = { shares: 1024, quota: -1, period: 100000, cpus: '0-2,4', mems: '0' })],
    ['unlimited memory', (s) => (s['linux']['resources']['memory'] = { limit: -1, swap: -1, reservation: -1 })],
    ['6 MiB memory', (s) => (s['linux']['resources']['memory'] = { limit: 6291456, swap: 6291456, reservation: 0 })],
    ['pids 0 (max)', (s) => (s['linux']['resources']['pids'] = { limit: 0 })],
    ['pids -1', (s) => (s['linux']['resources']['pids'] = { limit: -1 })],
    ['pids 100', (s) => (s['linux']['resources']['pids'] = { limit: 100 })],
    ['fs data and recursive mount options', (s) => (s['mounts'][1]['options'] = ['rro', 'mode=700', 'uid=1000', 'newinstance'])],
    ['rlimit infinity', (s) => (s['process']['rlimits'] = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }])],
    ['devices', (s) => (s['linux']['devices'] = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }, { path: '/dev/myfifo', type: 'p' }])],
    ['device rules', (s) => s['linux']['resources']['devices'].push({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' })],
    ['unified', (s) => (s['linux']['resources']['unified'] = { 'memory.high': '1G', 'io.max': '8:0 rbps=1048576' })],
    ['hugepages', (s) => (s['linux']['resources']['hugepageLimits'] = [{ pageSize: '2MB', limit: 1048576 }])],
    ['namespace paths', (s) => (s['linux']['namespaces'][1] = { type: 'network', path: '/run/netns/a' })],
    ['rootfsPropagation', (s) => (s['linux']['rootfsPropagation'] = 'rslave')],
    ['no hostname without uts', (s) => { delete s['hostname']; s['linux']['namespaces'].splice(3, 1); }],
  ])('accepts %s', (_name, edit) => {
    expect(() => validateSpec(spec(edit))).not.toThrow();
  });
});

describe('validateSpec: schema errors', () => {
  test('not an object', () => {
    expectReject([], 'EINVALIDCONFIG', '', /^invalid config: must be a json object, got an array$/);
  });

  test.each<[string, (s: Json) => void, string, RegExp]>([
    ['missing ociVersion', (s) => delete s['ociVersion'], 'ociVersion', /^invalid config: ociVersion: is required$/],
    ['missing root', (s) => delete s['root'], 'root', /root: is required/],
    ['missing cwd', (s) => delete s['process']['cwd'], 'process.cwd', /is required/],
    ['uid not a number', (s) => (s['process']['user']['uid'] = 'root'), 'process.user.uid', /must be a uint32 \(0 to 4294967295\), got "root"/],
    ['negative uid', (s) => (s['process']['user']['uid'] = -1), 'process.user.uid', /must be a uint32.*got -1/],
    ['gid too large', (s) => (s['process']['user']['gid'] = 2 ** 32), 'process.user.gid', /must be a uint32/],
    ['terminal not boolean', (s) => (s['process']['terminal'] = 'yes'), 'process.terminal', /must be a boolean \(true or false\), got "yes"/],
    ['args not an array', (s) => (s['process']['args'] = 'sh -c x'), 'process.args', /must be an array, got "sh -c x"/],
    ['fractional memory limit', (s) => (s['linux']['resources']['memory'] = { limit: 1.5 }), 'linux.resources.memory.limit', /must be an int64/],
    ['unknown namespace type', (s) => (s['linux']['namespaces'][1]['type'] = 'net'), 'linux.namespaces[1].type', /must be one of pid, network, mount, ipc, uts, user, cgroup, time, got "net"/],
    ['rootfsPropagation', (s) => (s['linux']['rootfsPropagation'] = 'recursive'), 'linux.rootfsPropagation', /must be one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable/],
    ['cgroupsPath not a string', (s) => (s['linux']['cgroupsPath'] = 42), 'linux.cgroupsPath', /must be a string, got 42/],
    ['device type', (s) => (s['linux']['devices'] = [{ path: '/dev/x', type: 'x' }]), 'linux.devices[0].type', /must be one of c, b, u, p/],
    ['device rule type', (s) => (s['linux']['resources']['devices'][0]['type'] = 'x'), 'linux.resources.devices[0].type', /must be one of a, c, b/],
    ['annotation value', (s) => (s['annotations'] = { 'io.example/x': 1 }), 'annotations["io.example/x"]', /must be a string, got 1/],
    ['mount destination missing', (s) => delete s['mounts'][2]['destination'], 'mounts[2].destination', /is required/],
    ['seccomp action', (s) => (s['linux']['seccomp'] = { defaultAction: 'SCMP_ACT_NOPE' }), 'linux.seccomp.defaultAction', /must be one of SCMP_ACT_KILL/],
  ])('%s', (_name, edit, field, message) => {
    expectReject(spec(edit), 'EINVALIDCONFIG', field, message);
  });
});

describe('validateSpec: semantic rules', () => {
  test.each<[string, (s: Json) => void, string, RegExp]>([
    ['ociVersion 2', (s) => (s['ociVersion'] = '2.0.0'), 'ociVersion', /must be a runtime-spec version 1\.0\.x, 1\.1\.x or 1\.2\.x, got "2\.0\.0"/],
    ['ociVersion 1.3', (s) => (s['ociVersion'] = '1.3.0'), 'ociVersion', /got "1\.3\.0"/],
    ['no process', (s) => delete s['process'], 'process', /is required: hull cannot create a container without a process/],
    ['empty args', (s) => (s['process']['args'] = []), 'process.args', /at least one entry/],
    ['no args', (s) => delete s['process']['args'], 'process.args', /at least one entry/],
    ['relative cwd', (s) => (s['process']['cwd'] = 'tmp'), 'process.cwd', /must be an absolute path, got "tmp"/],
    ['env without =', (s) => s['process']['env'].push('FOO'), 'process.env[2]', /must be of the form KEY=VALUE, got "FOO"/],
    ['env without key', (s) => (s['process']['env'] = ['=x']), 'process.env[0]', /KEY=VALUE/],
    ['unknown rlimit', (s) => (s['process']['rlimits'][0]['type'] = 'RLIMIT_FOO'), 'process.rlimits[0].type', /resource limit name.*got "RLIMIT_FOO"/],
    ['soft over hard', (s) => (s['process']['rlimits'][0]['soft'] = 2048), 'process.rlimits[0].soft', /must not exceed hard \(2048 > 1024\)/],
    ['duplicate rlimit', (s) => s['process']['rlimits'].push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }), 'process.rlimits[1].type', /duplicate RLIMIT_NOFILE/],
    ['unknown capability', (s) => (s['process']['capabilities']['effective'][1] = 'CAP_FLY'), 'process.capabilities.effective[1]', /unknown capability "CAP_FLY"/],
    ['capability without CAP_', (s) => (s['process']['capabilities']['ambient'] = ['chown']), 'process.capabilities.ambient[0]', /unknown capability "chown"/],
    ['oomScoreAdj', (s) => (s['process']['oomScoreAdj'] = 1001), 'process.oomScoreAdj', /between -1000 and 1000, got 1001/],
    ['empty root path', (s) => (s['root']['path'] = ''), 'root.path', /must not be empty/],
    ['relative mount destination', (s) => (s['mounts'][2]['destination'] = 'proc'), 'mounts[2].destination', /^invalid config: mounts\[2\]\.destination: must be an absolute path, got "proc"$/],
    ['empty mount option', (s) => (s['mounts'][1]['options'][0] = ''), 'mounts[1].options[0]', /must not be empty/],
    ['mount option with comma', (s) => (s['mounts'][1]['options'][0] = 'nosuid,nodev'), 'mounts[1].options[0]', /without commas/],
    ['mount option without key', (s) => (s['mounts'][1]['options'][0] = '=1'), 'mounts[1].options[0]', /key=value/],
    ['duplicate namespace', (s) => s['linux']['namespaces'].push({ type: 'pid' }), 'linux.namespaces[6].type', /duplicate pid namespace/],
    ['relative namespace path', (s) => (s['linux']['namespaces'][1]['path'] = 'netns/a'), 'linux.namespaces[1].path', /must be an absolute path/],
    ['hostname without uts', (s) => s['linux']['namespaces'].splice(3, 1), 'hostname', /cannot be set without a private uts namespace/],
    ['domainname without uts', (s) => { delete s['hostname']; s['domainname'] = 'example.com'; s['linux']['namespaces'].splice(3, 1); }, 'domainname', /uts namespace/],
    ['relative masked path', (s) => s['linux']['maskedPaths'].push('proc/kcore'), 'linux.maskedPaths[11]', /absolute path/],
    ['relative readonly path', (s) => (s['linux']['readonlyPaths'][0] = 'proc/bus'), 'linux.readonlyPaths[0]', /absolute path/],
    ['device outside /dev', (s) => (s['linux']['devices'] = [{ path: '/tmp/null', type: 'c', major: 1, minor: 3 }]), 'linux.devices[0].path', /under \/dev/],
    ['device escaping /dev', (s) => (s['linux']['devices'] = [{ path: '/dev/../etc/x', type: 'p' }]), 'linux.devices[0].path', /under \/dev/],
    ['char device without major', (s) => (s['linux']['devices'] = [{ path: '/dev/x', type: 'c', minor: 3 }]), 'linux.devices[0].major', /required for a "c" device/],
    ['empty sysctl key', (s) => (s['linux']['sysctl'] = { '': '1' }), 'linux.sysctl', /keys must not be empty/],
    ['device rule access', (s) => (s['linux']['resources']['devices'][0]['access'] = 'rwx'), 'linux.resources.devices[0].access', /letters r, w and m, got "rwx"/],
    ['cpu shares 1', (s) => (s['linux']['resources']['cpu'] = { shares: 1 }), 'linux.resources.cpu.shares', /between 2 and 262144, got 1/],
    ['cpu shares too high', (s) => (s['linux']['resources']['cpu'] = { shares: 262145 }), 'linux.resources.cpu.shares', /between 2 and 262144/],
    ['cpu quota 0', (s) => (s['linux']['resources']['cpu'] = { quota: 0 }), 'linux.resources.cpu.quota', /-1 \(unlimited\) or > 0, got 0/],
    ['cpu period short', (s) => (s['linux']['resources']['cpu'] = { period: 999 }), 'linux.resources.cpu.period', /between 1000 and 1000000/],
    ['cpu period long', (s) => (s['linux']['resources']['cpu'] = { period: 1000001 }), 'linux.resources.cpu.period', /between 1000 and 1000000/],
    ['cpus syntax', (s) => (s['linux']['resources']['cpu'] = { cpus: '0-' }), 'linux.resources.cpu.cpus', /cpu list like "0-2,4", got "0-"/],
    ['cpus reversed range', (s) => (s['linux']['resources']['cpu'] = { cpus: '3-1' }), 'linux.resources.cpu.cpus', /cpu list/],
    ['mems syntax', (s) => (s['linux']['resources']['cpu'] = { mems: 'all' }), 'linux.resources.cpu.mems', /cpu list/],
    ['memory limit tiny', (s) => (s['linux']['resources']['memory'] = { limit: 4096 }), 'linux.resources.memory.limit', /at least 6291456 \(6 MiB\), got 4096/],
    ['memory limit 0', (s) => (s['linux']['resources']['memory'] = { limit: 0 }), 'linux.resources.memory.limit', /-1 \(unlimited\)/],
    ['swap below limit', (s) => (s['linux']['resources']['memory'] = { limit: 8388608, swap: 6291456 }), 'linux.resources.memory.swap', />= the memory limit \(8388608\)/],
    ['negative reservation', (s) => (s['linux']['resources']['memory'] = { reservation: -2 }), 'linux.resources.memory.reservation', /-1 \(unlimited\) or >= 0/],
    ['pids limit -2', (s) => (s['linux']['resources']['pids'] = { limit: -2 }), 'linux.resources.pids.limit', /got -2/],
    ['hugepage size', (s) => (s['linux']['resources']['hugepageLimits'] = [{ pageSize: '2M', limit: 1 }]), 'linux.resources.hugepageLimits[0].pageSize', /like "2MB"/],
  ])('%s', (_name, edit, field, message) => {
    expectReject(spec(edit), 'EINVALIDCONFIG', field, message);
  });

  test.each<[string, (s: Json) => void, string, RegExp]>([
    ['user namespace', (s) => s['linux']['namespaces'].push({ type: 'user' }), 'linux.namespaces[6].type', /^unsupported config: linux\.namespaces\[6\]\.type: user namespaces are not supported yet$/],
    ['time namespace', (s) => s['linux']['namespaces'].push({ type: 'time' }), 'linux.namespaces[6].type', /time namespaces are not supported yet/],
    ['joining a pid namespace', (s) => (s['linux']['namespaces'][0]['path'] = '/proc/1/ns/pid'), 'linux.namespaces[0].path', /joining an existing pid namespace is not supported yet/],
  ])('%s is unsupported', (_name, edit, field, message) => {
    expectReject(spec(edit), 'EUNSUPPORTED', field, message);
  });

  test('only the first problem is reported', () => {
    const s = spec((s) => {
      s['mounts'][1]['destination'] = 'dev';
      s['mounts'][3]['destination'] = 'shm';
    });
    expectReject(s, 'EINVALIDCONFIG', 'mounts[1].destination', /got "dev"/);
  });

  test('schema errors come before semantic ones', () => {
    const s = spec((s) => {
      s['mounts'][1]['destination'] = 'dev';
      s['linux']['cgroupsPath'] = 1;
    });
    expectReject(s, 'EINVALIDCONFIG', 'linux.cgroupsPath', /must be a string/);
  });
});

describe('fieldPath', () => {
  test.each<[string, unknown, string]>([
    ['/mounts/2/destination', { mounts: [{}, {}, {}] }, 'mounts[2].destination'],
    ['/linux/namespaces/0/type', { linux: { namespaces: [{}] } }, 'linux.namespaces[0].type'],
    ['/annotations/io.x~1y', { annotations: {} }, 'annotations["io.x/y"]'],
    ['/linux/sysctl/0', { linux: { sysctl: { '0': 1 } } }, 'linux.sysctl["0"]'],
    ['', {}, ''],
  ])('%s', (pointer, root, expected) => {
    expect(fieldPath(pointer, root)).toBe(expected);
  });
});

describe('schema compilation', () => {
  test('importing lib/oci does not load typebox', () => {
    const loaded: string[] = [];
    jest.isolateModules(() => {
      for (const name of ['@sinclair/typebox', '@sinclair/typebox/compiler']) {
        jest.doMock(name, () => {
          loaded.push(name);
          return jest.requireActual(name);
        });
      }
      const oci = require('../../../lib/oci');
      oci.defaultSpec();
      expect(loaded).toEqual([]);
      oci.validateSpec(oci.defaultSpec());
      expect(loaded).toContain('@sinclair/typebox/compiler');
    });
  });

  test('importing validate compiles nothing; the first validation compiles once', () => {
    jest.isolateModules(() => {
      const { TypeCompiler } = require('@sinclair/typebox/compiler');
      const compile = jest.spyOn(TypeCompiler, 'Compile');
      const validate = require('../../../lib/oci/validate');
      expect(compile).not.toHaveBeenCalled();
      validate.validateSpec(defaultSpec());
      validate.validateSpec(defaultSpec());
      expect(compile).toHaveBeenCalledTimes(1);
      compile.mockRestore();
    });
  });
});

describe('loadBundle', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-oci-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function bundle(config: unknown, opts: { rootfs?: boolean } = {}): string {
    const dir = path.join(tmp, 'bundle');
    fs.mkdirSync(dir);
    if (opts.rootfs !== false) fs.mkdirSync(path.join(dir, 'rootfs'));
    const text = typeof config === 'string' ? config : JSON.stringify(config, null, 2);
    fs.writeFileSync(path.join(dir, 'config.json'), text);
    return dir;
  }

  test('loads a valid bundle with real absolute paths', () => {
    const dir = bundle(defaultSpec());
    fs.symlinkSync(dir, path.join(tmp, 'link'));
    const loaded = loadBundle(path.relative(process.cwd(), path.join(tmp, 'link')));
    const real = fs.realpathSync(dir);
    expect(loaded.bundle).toBe(real);
    expect(loaded.rootfs).toBe(path.join(real, 'rootfs'));
    expect(loaded.spec.process?.args).toEqual(['sh']);
  });

  test('an absolute root.path is used as is', () => {
    const rootfs = path.join(tmp, 'elsewhere');
    fs.mkdirSync(rootfs);
    const loaded = loadBundle(bundle(defaultSpec({ rootfs }), { rootfs: false }));
    expect(loaded.rootfs).toBe(fs.realpathSync(rootfs));
  });

  test('missing bundle directory', () => {
    const err = errorOf(() => loadBundle(path.join(tmp, 'nope')));
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect(err.message).toMatch(/no such file or directory/);
  });

  test('missing config.json', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(dir);
    const err = errorOf(() => loadBundle(dir));
    expect(err).toMatchObject({ name: 'HullError', code: 'ENOENT' });
    expect(err.message).toBe(`open \`${fs.realpathSync(dir)}/config.json\`: no such file or directory`);
  });

  test('malformed JSON', () => {
    const dir = bundle('{\n  "ociVersion": "1.0.0"\n  "root": {}\n}');
    const err = errorOf(() => loadBundle(dir));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'config.json' });
    expect(err.message).toMatch(/^invalid config: config\.json: malformed json at line 3, column 3 in `.*config\.json`: expected ',' or '}'/);
  });

  test('truncated JSON', () => {
    const err = errorOf(() => loadBundle(bundle('{"ociVersion": ')));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'config.json' });
    expect(err.message).toMatch(/malformed json at line 1, column 16/);
  });

  test('missing rootfs', () => {
    const dir = bundle(defaultSpec(), { rootfs: false });
    const err = errorOf(() => loadBundle(dir));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'root.path' });
    expect(err.message).toBe(`invalid config: root.path: \`${path.join(fs.realpathSync(dir), 'rootfs')}\` does not exist`);
  });

  test('rootfs that is not a directory', () => {
    const dir = bundle(defaultSpec({ rootfs: 'config.json' }), { rootfs: false });
    const err = errorOf(() => loadBundle(dir));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'root.path' });
    expect(err.message).toMatch(/config\.json` is not a directory$/);
  });

  test('relative mount destination', () => {
    const err = errorOf(() => loadBundle(bundle(spec((s) => (s['mounts'][0]['destination'] = 'proc')))));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'mounts[0].destination' });
    expect(err.message).toMatch(/must be an absolute path, got "proc"/);
  });

  test('unknown namespace type', () => {
    const err = errorOf(() => loadBundle(bundle(spec((s) => s['linux']['namespaces'].push({ type: 'foo' })))));
    expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field: 'linux.namespaces[6].type' });
    expect(err.message).toMatch(/must be one of pid, network/);
  });

  test('user namespace', () => {
    const err = errorOf(() => loadBundle(bundle(spec((s) => s['linux']['namespaces'].push({ type: 'user' })))));
    expect(err).toMatchObject({ code: 'EUNSUPPORTED', field: 'linux.namespaces[6].type' });
    expect(err.message).toMatch(/user namespaces are not supported yet/);
  });

  test('a podman config in a bundle', () => {
    const config = fixture('podman-config.json');
    config['root']['path'] = 'rootfs';
    const loaded = loadBundle(bundle(config));
    expect(loaded.spec.ociVersion).toBe('1.0.2-dev');
    expect(loaded.spec.linux?.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
  });
});
