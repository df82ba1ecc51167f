import { CAPABILITIES, CAP_LAST_CAP, DEFAULT_CAPABILITIES, capabilityNumber, defaultSpec, validateSpec } from '../../../lib/oci';

describe('defaultSpec', () => {
  test('validates', () => {
    expect(() => validateSpec(defaultSpec())).not.toThrow();
    expect(() => validateSpec(defaultSpec({ args: ['/bin/app', '--flag'], rootfs: '/srv/root', terminal: false, hostname: 'box' }))).not.toThrow();
  });

  test('matches runc spec with Nomad capabilities', () => {
    const s = defaultSpec();
    expect(s.ociVersion).toBe('1.2.0');
    expect(s.process).toMatchObject({
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    });
    expect(s.root).toEqual({ path: 'rootfs', readonly: true });
    expect(s.hostname).toBe('hull');
    expect(s.linux?.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
    expect(s.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(s.linux?.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    expect(s.linux?.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware', '/sys/devices/virtual/powercap']));
  });

  test('capabilities: the default set in bounding, effective and permitted only', () => {
    const caps = defaultSpec().process?.capabilities;
    expect(Object.keys(caps ?? {}).sort()).toEqual(['bounding', 'effective', 'permitted']);
    for (const set of [caps?.bounding, caps?.effective, caps?.permitted]) expect(set).toEqual([...DEFAULT_CAPABILITIES]);
    expect(DEFAULT_CAPABILITIES).not.toContain('CAP_NET_RAW');
    expect(DEFAULT_CAPABILITIES).toHaveLength(13);
  });

  test('mounts are runc spec mounts', () => {
    const mounts = defaultSpec().mounts ?? [];
    expect(mounts.map((m) => [m.destination, m.type])).toEqual([
      ['/proc', 'proc'],
      ['/dev', 'tmpfs'],
      ['/dev/pts', 'devpts'],
      ['/dev/shm', 'tmpfs'],
      ['/dev/mqueue', 'mqueue'],
      ['/sys', 'sysfs'],
      ['/sys/fs/cgroup', 'cgroup'],
    ]);
    expect(mounts[2]?.options).toEqual(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    expect(mounts[6]?.options).toEqual(['nosuid', 'noexec', 'nodev', 'relatime', 'ro']);
  });

  test('options', () => {
    const s = defaultSpec({ args: ['node', 'app.js'], rootfs: 'root', terminal: false, hostname: 'task-1' });
    expect(s.process?.args).toEqual(['node', 'app.js']);
    expect(s.process?.terminal).toBe(false);
    expect(s.root.path).toBe('root');
    expect(s.hostname).toBe('task-1');
  });

  test('every call returns fresh objects', () => {
    const args = ['a'];
    const a = defaultSpec({ args });
    a.process?.args?.push('b');
    a.process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    a.mounts?.pop();
    expect(args).toEqual(['a']);
    const b = defaultSpec();
    expect(b.process?.capabilities?.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(b.mounts).toHaveLength(7);
  });
});

describe('capabilities', () => {
  test('numbers 0 to CAP_LAST_CAP, each once', () => {
    const numbers = Object.values(CAPABILITIES).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: CAP_LAST_CAP + 1 }, (_, i) => i));
    expect(CAPABILITIES['CAP_CHOWN']).toBe(0);
    expect(CAPABILITIES['CAP_NET_RAW']).toBe(13);
    expect(CAPABILITIES['CAP_SYS_ADMIN']).toBe(21);
    expect(CAPABILITIES['CAP_CHECKPOINT_RESTORE']).toBe(40);
  });

  test('defaults are known names', () => {
    for (const name of DEFAULT_CAPABILITIES) expect(capabilityNumber(name)).toEqual(expect.any(Number));
    expect(capabilityNumber('CAP_FLY')).toBeUndefined();
    expect(capabilityNumber('toString')).toBeUndefined();
  });
});
