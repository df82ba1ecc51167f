import type { Hierarchy } from '../../../lib/cgroup/detect';
import { hierarchyDir, resolveCgroupsPath } from '../../../lib/cgroup/path';

describe('resolveCgroupsPath', () => {
  it('defaults to relative hull/<id>', () => {
    expect(resolveCgroupsPath(undefined, 'web')).toEqual({ absolute: false, path: 'hull/web' });
    expect(resolveCgroupsPath('', 'web')).toEqual({ absolute: false, path: 'hull/web' });
  });

  it('keeps absolute and relative paths, cleaned', () => {
    expect(resolveCgroupsPath('/machine.slice//web/', 'x')).toEqual({ absolute: true, path: 'machine.slice/web' });
    expect(resolveCgroupsPath('./a/./b', 'x')).toEqual({ absolute: false, path: 'a/b' });
  });

  it('refuses .. components and the root', () => {
    expect(() => resolveCgroupsPath('/a/../../etc', 'x')).toThrow(/linux\.cgroupsPath: `\/a\/..\/..\/etc` must not contain `..`/);
    expect(() => resolveCgroupsPath('/', 'x')).toThrow(/must not name the root cgroup/);
    expect(() => resolveCgroupsPath('/./', 'x')).toThrow(expect.objectContaining({ code: 'EINVALIDCONFIG', field: 'linux.cgroupsPath' }));
  });

  it('refuses an empty or multi-component id', () => {
    expect(() => resolveCgroupsPath(undefined, '')).toThrow(/invalid config: id: must not be empty/);
    expect(() => resolveCgroupsPath(undefined, 'a/b')).toThrow(/single path component/);
    expect(() => resolveCgroupsPath(undefined, '..')).toThrow(/single path component/);
  });
});

describe('hierarchyDir', () => {
  const h = (ownDir: string, version: 1 | 2 = 1): Hierarchy => ({
    version,
    controllers: version === 1 ? ['memory'] : [],
    mountpoint: '/sys/fs/cgroup/memory',
    mountRoot: '/',
    cgroupPath: '',
    ownDir,
  });

  it('puts absolute paths at the hierarchy root and relative ones below our own cgroup', () => {
    expect(hierarchyDir(h('/sys/fs/cgroup/memory/process_api/x'), { absolute: true, path: 'a/b' }, 'hybrid')).toBe('/sys/fs/cgroup/memory/a/b');
    expect(hierarchyDir(h('/sys/fs/cgroup/memory/process_api/x'), { absolute: false, path: 'hull/c' }, 'hybrid')).toBe(
      '/sys/fs/cgroup/memory/process_api/x/hull/c',
    );
  });

  it('on pure v2 goes below the parent of our own cgroup (no internal processes)', () => {
    const v2 = { ...h('/sys/fs/cgroup/user.slice/session-1.scope', 2), mountpoint: '/sys/fs/cgroup' };
    expect(hierarchyDir(v2, { absolute: false, path: 'hull/c' }, 'v2')).toBe('/sys/fs/cgroup/user.slice/hull/c');
    const atRoot = { ...v2, ownDir: '/sys/fs/cgroup' };
    expect(hierarchyDir(atRoot, { absolute: false, path: 'hull/c' }, 'v2')).toBe('/sys/fs/cgroup/hull/c');
  });
});
