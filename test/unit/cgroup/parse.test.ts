import { parseMountinfo, parseProcCgroup, unescapeMountField } from '../../../lib/cgroup/parse';
import { CI_VM, DOCKER_NESTED_V1, FEDORA_V2, UBUNTU_HYBRID } from '../../helpers/cgroup-samples';

describe('parseProcCgroup', () => {
  it('keeps the v2 line with an empty controller list', () => {
    const entries = parseProcCgroup(UBUNTU_HYBRID.cgroup);
    expect(entries.at(-1)).toEqual({ hierarchyId: 0, controllers: [], path: '/user.slice/user-1000.slice/session-17.scope' });
  });

  it('keeps named hierarchies and splits combined controllers', () => {
    const entries = parseProcCgroup(UBUNTU_HYBRID.cgroup);
    expect(entries).toContainEqual({ hierarchyId: 1, controllers: ['name=systemd'], path: '/user.slice/user-1000.slice/session-17.scope' });
    expect(entries).toContainEqual({ hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/user.slice' });
    expect(entries).toContainEqual({ hierarchyId: 5, controllers: ['net_cls', 'net_prio'], path: '/' });
    expect(entries).toHaveLength(13);
  });

  it('reads this VM: a memory cgroup below process_api, separate cpu and cpuacct', () => {
    const entries = parseProcCgroup(CI_VM.cgroup);
    expect(entries).toContainEqual({ hierarchyId: 4, controllers: ['memory'], path: '/process_api/5a843c2a976d9d278820684ee141e81f' });
    expect(entries).toContainEqual({ hierarchyId: 1, controllers: ['cpu'], path: '/' });
    expect(entries).toContainEqual({ hierarchyId: 2, controllers: ['cpuacct'], path: '/' });
  });

  it('reads a pure v2 host and a nested container', () => {
    expect(parseProcCgroup(FEDORA_V2.cgroup)).toHaveLength(1);
    expect(parseProcCgroup(DOCKER_NESTED_V1.cgroup)[1]).toEqual({ hierarchyId: 4, controllers: ['memory'], path: '/docker/4f2a9c1d0e7b' });
  });

  it('keeps colons that are part of the path', () => {
    expect(parseProcCgroup('0::/a:b:c\n')[0]?.path).toBe('/a:b:c');
  });

  it('refuses a line without two colons', () => {
    expect(() => parseProcCgroup('4:memory\n')).toThrow(/invalid cgroup entry `4:memory`: must contain at least two colons/);
  });
});

describe('parseMountinfo', () => {
  it('reads the fields, the optional ones and the super options', () => {
    const [m] = parseMountinfo('39 33 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 master:2 - cgroup cgroup rw,cpu,cpuacct\n');
    expect(m).toEqual({
      mountId: 39,
      parentId: 33,
      majorMinor: '0:34',
      root: '/',
      mountpoint: '/sys/fs/cgroup/cpu,cpuacct',
      mountOptions: 'rw,nosuid,nodev,noexec,relatime',
      optionalFields: ['shared:15', 'master:2'],
      fstype: 'cgroup',
      source: 'cgroup',
      superOptions: 'rw,cpu,cpuacct',
    });
  });

  it('reads a line without optional fields (this VM)', () => {
    const mounts = parseMountinfo(CI_VM.mountinfo);
    const memory = mounts.find((m) => m.mountpoint === '/sys/fs/cgroup/memory');
    expect(memory).toMatchObject({ fstype: 'cgroup', superOptions: 'rw,memory', optionalFields: [], root: '/' });
    expect(mounts.find((m) => m.fstype === 'cgroup2')?.mountpoint).toBe('/sys/fs/cgroup/unified');
    expect(mounts.find((m) => m.mountpoint === '/sys/fs/cgroup/systemd')?.superOptions).toBe('rw,name=systemd');
  });

  it('reads the bind-mount root of a nested container', () => {
    const mounts = parseMountinfo(DOCKER_NESTED_V1.mountinfo);
    expect(mounts.find((m) => m.mountpoint === '/sys/fs/cgroup/memory')?.root).toBe('/docker/4f2a9c1d0e7b');
  });

  it('unescapes octal escapes in paths', () => {
    const [m] = parseMountinfo('50 30 0:40 /a\\040b /mnt/my\\040dir\\011x rw - tmpfs my\\134src rw\n');
    expect(m?.root).toBe('/a b');
    expect(m?.mountpoint).toBe('/mnt/my dir\tx');
    expect(m?.source).toBe('my\\src');
    expect(unescapeMountField('/no/escapes')).toBe('/no/escapes');
    expect(unescapeMountField('a\\012b')).toBe('a\nb');
  });

  it('refuses a truncated line', () => {
    expect(() => parseMountinfo('39 33 0:34 / /x rw\n')).toThrow(/invalid mountinfo entry/);
  });
});
