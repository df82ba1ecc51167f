import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clearDetectionCache, detectHierarchies } from '../../../lib/cgroup/detect';
import { type HostSample, SAMPLES } from '../../helpers/cgroup-samples';

let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-detect-'));
  clearDetectionCache();
});

afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function procRootFor(sample: HostSample, pid = 'self'): string {
  fs.mkdirSync(path.join(tmp, pid), { recursive: true });
  fs.writeFileSync(path.join(tmp, pid, 'cgroup'), sample.cgroup);
  fs.writeFileSync(path.join(tmp, pid, 'mountinfo'), sample.mountinfo);
  return tmp;
}

describe('detectHierarchies', () => {
  it('reads this VM as hybrid, with cpu and cpuacct apart and memory below process_api', () => {
    const host = detectHierarchies({ procRoot: procRootFor(SAMPLES.CI_VM) });
    expect(host.mode).toBe('hybrid');
    expect(host.hierarchies.map((h) => h.controllers.join(','))).toEqual([
      'name=systemd', 'pids', 'blkio', 'freezer', 'devices', 'memory', 'cpuset', 'cpuacct', 'cpu', '',
    ]);
    const memory = host.hierarchies.find((h) => h.controllers.includes('memory'));
    expect(memory?.ownDir).toBe('/sys/fs/cgroup/memory/process_api/5a843c2a976d9d278820684ee141e81f');
    expect(host.unified).toMatchObject({ version: 2, mountpoint: '/sys/fs/cgroup/unified', ownDir: '/sys/fs/cgroup/unified' });
  });

  it('reads a systemd hybrid host, skipping hierarchies that are not mounted', () => {
    const sample = { ...SAMPLES.UBUNTU_HYBRID, mountinfo: SAMPLES.UBUNTU_HYBRID.mountinfo.replace(/^.*rdma.*\n/m, '') };
    const host = detectHierarchies({ procRoot: procRootFor(sample) });
    expect(host.mode).toBe('hybrid');
    expect(host.hierarchies.some((h) => h.controllers.includes('rdma'))).toBe(false);
    const cpu = host.hierarchies.find((h) => h.controllers.includes('cpu'));
    expect(cpu).toMatchObject({ controllers: ['cpu', 'cpuacct'], mountpoint: '/sys/fs/cgroup/cpu,cpuacct', ownDir: '/sys/fs/cgroup/cpu,cpuacct/user.slice' });
    expect(host.unified?.ownDir).toBe('/sys/fs/cgroup/unified/user.slice/user-1000.slice/session-17.scope');
    expect(host.hierarchies.find((h) => h.controllers[0] === 'name=systemd')?.mountpoint).toBe('/sys/fs/cgroup/systemd');
  });

  it('reads a pure v2 host', () => {
    const host = detectHierarchies({ procRoot: procRootFor(SAMPLES.FEDORA_V2) });
    expect(host.mode).toBe('v2');
    expect(host.hierarchies).toHaveLength(1);
    expect(host.unified?.ownDir).toMatch(/^\/sys\/fs\/cgroup\/user\.slice\/.*\/vte-spawn-1\.scope$/);
  });

  it('maps a nested container through the mount root: its own cgroup is the mountpoint', () => {
    const host = detectHierarchies({ procRoot: procRootFor(SAMPLES.DOCKER_NESTED_V1) });
    expect(host.mode).toBe('v1'); // the v2 line's hierarchy is not mounted inside
    const memory = host.hierarchies.find((h) => h.controllers.includes('memory'));
    expect(memory).toMatchObject({ mountRoot: '/docker/4f2a9c1d0e7b', cgroupPath: '/docker/4f2a9c1d0e7b', ownDir: '/sys/fs/cgroup/memory' });
  });

  it('reads a cgroup namespace on v2', () => {
    const host = detectHierarchies({ procRoot: procRootFor(SAMPLES.DOCKER_CGROUPNS_V2) });
    expect(host).toMatchObject({ mode: 'v2', unified: { mountpoint: '/sys/fs/cgroup', ownDir: '/sys/fs/cgroup' } });
  });

  it('falls back to the mountpoint when our cgroup lies outside the mount root', () => {
    const sample = { cgroup: '4:memory:/elsewhere\n', mountinfo: '40 33 0:35 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n' };
    const host = detectHierarchies({ procRoot: procRootFor(sample) });
    expect(host.hierarchies[0]?.ownDir).toBe('/sys/fs/cgroup/memory');
  });

  it('rebases /sys/fs/cgroup onto a fixture root', () => {
    const host = detectHierarchies({ procRoot: procRootFor(SAMPLES.CI_VM), cgroupRoot: '/tmp/fx' });
    expect(host.unified?.mountpoint).toBe('/tmp/fx/unified');
  });

  it('reads another pid and caches per procRoot and pid', () => {
    const procRoot = procRootFor(SAMPLES.FEDORA_V2, '42');
    const a = detectHierarchies({ procRoot, selfPid: 42 });
    fs.writeFileSync(path.join(procRoot, '42', 'cgroup'), 'garbage');
    expect(detectHierarchies({ procRoot, selfPid: 42 })).toBe(a);
    clearDetectionCache();
    expect(() => detectHierarchies({ procRoot, selfPid: 42 })).toThrow(/invalid cgroup entry/);
  });

  it('says which file it could not read, and when nothing is mounted', () => {
    expect(() => detectHierarchies({ procRoot: path.join(tmp, 'nope') })).toThrow(/read `.*nope\/self\/cgroup`: no such file or directory/);
    const none = procRootFor({ cgroup: '0::/\n', mountinfo: '26 1 254:0 / / rw - ext4 /dev/vda rw\n' });
    expect(() => detectHierarchies({ procRoot: none })).toThrow(/no cgroup hierarchy listed in `.*self\/cgroup` is mounted/);
  });
});
