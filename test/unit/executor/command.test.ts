import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveUser, validateExecCommand } from '../../../lib/executor/command';

describe('resolveUser', () => {
  let etc: string;
  beforeAll(() => {
    etc = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-test-etc-'));
    fs.writeFileSync(
      path.join(etc, 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    );
    fs.writeFileSync(path.join(etc, 'group'), 'root:x:0:\nnogroup:x:65534:\nalice:x:1000:\nwheel:x:10:bob,alice\naudio:x:29:alice\nstaff:x:50:bob\n');
  });
  afterAll(() => fs.rmSync(etc, { recursive: true, force: true }));

  it('no user is root with no supplementary group', () => {
    expect(resolveUser(undefined, etc)).toEqual({ uid: 0, gid: 0, additionalGids: [] });
  });

  it('a name gets its passwd gid and exactly the groups that list it (never gid 0)', () => {
    expect(resolveUser('nobody', etc)).toEqual({ uid: 65534, gid: 65534, additionalGids: [65534] });
    expect(resolveUser('alice', etc)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
  });

  it('a numeric uid uses its passwd entry if there is one', () => {
    expect(resolveUser('65534', etc)).toEqual({ uid: 65534, gid: 65534, additionalGids: [65534] });
    expect(resolveUser('4242', etc)).toEqual({ uid: 4242, gid: 4242, additionalGids: [] });
  });

  it('ids are taken exactly as given', () => {
    expect(resolveUser({ uid: 65534, gid: 65534 }, etc)).toEqual({ uid: 65534, gid: 65534, additionalGids: [] });
    expect(resolveUser({ uid: 1, gid: 2, additionalGids: [3, 4] }, etc)).toEqual({ uid: 1, gid: 2, additionalGids: [3, 4] });
  });

  it('an unknown name or a bad id is an error naming the field', () => {
    expect(() => resolveUser('mallory', etc)).toThrow(/user: no user `mallory`/);
    expect(() => resolveUser({ uid: -1, gid: 0 }, etc)).toThrow(/user.uid/);
    expect(() => resolveUser({ uid: 0, gid: 0, groups: [] }, etc)).toThrow(/user.groups: unknown field/);
  });
});

describe('validateExecCommand', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-test-val-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ok = (extra: object = {}) => ({ cmd: 'true', taskDir: dir, ...extra });

  it('accepts a minimal command', () => {
    expect(() => validateExecCommand(ok(), 'universal')).not.toThrow();
    expect(() => validateExecCommand(ok(), 'isolated')).not.toThrow();
  });

  it.each([
    [{ cmd: '' }, /cmd: must be a non-empty string/],
    [{ args: 'x' }, /args: must be an array/],
    [{ env: ['NOEQUALS'] }, /env\[0\]: must be KEY=value/],
    [{ taskDir: 'relative' }, /taskDir: must be an absolute path/],
    [{ taskDir: '/nonexistent/hull' }, /taskDir: .*no such file/],
    [{ pidMode: 'shared' }, /pidMode: must be "private" or "host"/],
    [{ stdout: '/nonexistent/dir/x' }, /stdout: .*no such file/],
    [{ logRotation: { maxFiles: 0 } }, /logRotation.maxFiles/],
    [{ tty: true }, /tty: .*not supported/],
    [{ resources: { cpu: { shares: 1 } } }, /cpu/],
    [{ devices: [{ hostPath: '/etc/passwd' }] }, /is not a device/],
    [{ capabilities: { capAdd: ['not_a_cap'] } }, /unknown capability/],
  ])('refuses %j', (extra, re) => {
    expect(() => validateExecCommand(ok(extra), 'isolated')).toThrow(re);
  });

  it('universal mode refuses what only isolation can do', () => {
    expect(() => validateExecCommand(ok({ pidMode: 'private' }), 'universal')).toThrow(expect.objectContaining({ code: 'EUNSUPPORTED', field: 'pidMode' }));
    expect(() => validateExecCommand(ok({ mounts: [{ source: '/srv', destination: '/srv' }] }), 'universal')).toThrow(/mounts/);
    expect(() => validateExecCommand(ok({ devices: [{ hostPath: '/dev/null' }] }), 'universal')).toThrow(/devices/);
  });
});
