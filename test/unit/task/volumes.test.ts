import { HullError } from '../../../lib/errors';
import { validateSpec } from '../../../lib/oci';
import { defaultSpec } from '../../../lib/oci/spec';
import { MS } from '../../../lib/container/constants';
import { parseMountOptions } from '../../../lib/container/mount-options';
import { type TaskVolume, volumeToMount, volumesToMounts } from '../../../lib/task';

function thrown(fn: () => unknown): HullError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HullError);
    return e as HullError;
  }
  throw new Error('expected an error');
}

describe('volumeToMount', () => {
  test('private, empty and unset propagation are rprivate', () => {
    for (const propagation of ['private', '', undefined] as const) {
      const v: TaskVolume = { source: '/srv/data', destination: '/data', ...(propagation !== undefined ? { propagation } : {}) };
      expect(volumeToMount(v, 0)).toEqual({ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rw', 'rprivate'] });
    }
  });

  test('host-to-task is rslave, bidirectional rshared', () => {
    expect(volumeToMount({ source: '/a', destination: '/b', propagation: 'host-to-task' }, 0).options).toEqual(['rbind', 'rw', 'rslave']);
    expect(volumeToMount({ source: '/a', destination: '/b', propagation: 'bidirectional' }, 0).options).toEqual(['rbind', 'rw', 'rshared']);
  });

  test('readOnly is ro, and host-to-task may be read-only', () => {
    expect(volumeToMount({ source: '/a', destination: '/b', readOnly: true }, 0).options).toEqual(['rbind', 'ro', 'rprivate']);
    expect(volumeToMount({ source: '/a', destination: '/b', readOnly: true, propagation: 'host-to-task' }, 0).options).toEqual(['rbind', 'ro', 'rslave']);
    expect(volumeToMount({ source: '/a', destination: '/b', readOnly: false }, 0).options).toEqual(['rbind', 'rw', 'rprivate']);
  });

  test('the options become a recursive bind with the propagation flags hull applies after the mount', () => {
    const cases: [TaskVolume['propagation'], number][] = [
      ['private', MS.PRIVATE | MS.REC],
      ['host-to-task', MS.SLAVE | MS.REC],
      ['bidirectional', MS.SHARED | MS.REC],
    ];
    for (const [propagation, flags] of cases) {
      const m = volumeToMount({ source: '/a', destination: '/b', ...(propagation ? { propagation } : {}) }, 0);
      const parsed = parseMountOptions(m.options ?? [], 'mounts[0].options');
      expect(parsed).toEqual({ flags: MS.BIND | MS.REC, propagation: flags, data: [], bind: true });
    }
    const ro = parseMountOptions(volumeToMount({ source: '/a', destination: '/b', readOnly: true }, 0).options ?? [], 'x');
    expect(ro.flags).toBe(MS.BIND | MS.REC | MS.RDONLY);
  });

  test('an unknown propagation mode names the mount and the value', () => {
    for (const bad of ['shared', 'rshared', 'Private', 'host_to_task', ' private']) {
      const e = thrown(() => volumeToMount({ source: '/a', destination: '/b', propagation: bad as TaskVolume['propagation'] }, 2));
      expect(e.code).toBe('EINVALIDCONFIG');
      expect(e.field).toBe('mounts[2].propagation');
      expect(e.message).toContain('mounts[2].propagation');
      expect(e.message).toContain(JSON.stringify(bad));
    }
    const e = thrown(() => volumeToMount({ source: '/a', destination: '/b', propagation: 7 as unknown as TaskVolume['propagation'] }, 0));
    expect(e.field).toBe('mounts[0].propagation');
    expect(e.message).toContain('7');
  });

  test('bidirectional with readOnly is refused, saying bidirectional mounts must be read-write', () => {
    const e = thrown(() => volumeToMount({ source: '/a', destination: '/b', readOnly: true, propagation: 'bidirectional' }, 1));
    expect(e.code).toBe('EINVALIDCONFIG');
    expect(e.field).toBe('mounts[1].propagation');
    expect(e.message).toMatch(/mounts\[1\]\.propagation: bidirectional mounts must be read-write/);
  });

  test('a relative, empty or non-string source is refused', () => {
    for (const source of ['data', './data', '../srv', '', 5, undefined]) {
      const e = thrown(() => volumeToMount({ source: source as string, destination: '/b' }, 3));
      expect(e.code).toBe('EINVALIDCONFIG');
      expect(e.field).toBe('mounts[3].source');
    }
    expect(thrown(() => volumeToMount({ source: 'data', destination: '/b' }, 0)).message).toMatch(/absolute path, got "data"/);
  });

  test('the destination must be absolute and not the root', () => {
    for (const destination of ['data', 'b/c', '', '/', '//', '/./', '/a/..']) {
      const e = thrown(() => volumeToMount({ source: '/a', destination }, 4));
      expect(e.field).toBe('mounts[4].destination');
    }
    expect(thrown(() => volumeToMount({ source: '/a', destination: 'data' }, 0)).message).toMatch(/absolute path, got "data"/);
  });

  test('NUL bytes and a non-boolean readOnly are refused', () => {
    expect(thrown(() => volumeToMount({ source: '/a\0b', destination: '/b' }, 0)).field).toBe('mounts[0].source');
    expect(thrown(() => volumeToMount({ source: '/a', destination: '/b\0' }, 0)).field).toBe('mounts[0].destination');
    expect(thrown(() => volumeToMount({ source: '/a', destination: '/b', readOnly: 'yes' as unknown as boolean }, 0)).field).toBe('mounts[0].readOnly');
    expect(thrown(() => volumeToMount(null as unknown as TaskVolume, 0)).field).toBe('mounts[0]');
  });

  test('the mount validates as part of an OCI config', () => {
    const spec = defaultSpec();
    spec.mounts!.push(volumeToMount({ source: '/srv/a', destination: '/a', propagation: 'bidirectional' }, 0));
    expect(() => validateSpec(spec)).not.toThrow();
  });
});

describe('volumesToMounts', () => {
  test('converts in order, the index of each in its errors', () => {
    const ms = volumesToMounts([
      { source: '/a', destination: '/x' },
      { source: '/b', destination: '/y', readOnly: true, propagation: 'host-to-task' },
    ]);
    expect(ms.map((m) => [m.source, m.destination, m.options])).toEqual([
      ['/a', '/x', ['rbind', 'rw', 'rprivate']],
      ['/b', '/y', ['rbind', 'ro', 'rslave']],
    ]);
    const e = thrown(() =>
      volumesToMounts([
        { source: '/a', destination: '/x' },
        { source: '/b', destination: '/y' },
        { source: '/c', destination: '/z', propagation: 'both' as TaskVolume['propagation'] },
      ]),
    );
    expect(e.field).toBe('mounts[2].propagation');
    expect(e.message).toContain('"both"');
  });

  test('one bad volume refuses the whole list', () => {
    expect(() =>
      volumesToMounts([
        { source: '/a', destination: '/x', propagation: 'bidirectional' },
        { source: '/b', destination: '/y', propagation: 'bidirectional', readOnly: true },
      ]),
    ).toThrow(/mounts\[1\]\.propagation: bidirectional mounts must be read-write/);
  });

  test('two volumes on one destination are refused', () => {
    const e = thrown(() =>
      volumesToMounts([
        { source: '/a', destination: '/x' },
        { source: '/b', destination: '/x/' },
      ]),
    );
    expect(e.field).toBe('mounts[1].destination');
    expect(e.message).toContain('mounts[0]');
  });

  test('an empty list is no mounts; a non-array is refused', () => {
    expect(volumesToMounts([])).toEqual([]);
    expect(() => volumesToMounts({} as unknown as TaskVolume[])).toThrow(HullError);
  });
});
