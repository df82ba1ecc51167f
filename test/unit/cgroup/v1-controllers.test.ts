import * as fs from 'node:fs';
import * as path from 'node:path';
import * as files from '../../../lib/cgroup/files';
import * as blkio from '../../../lib/cgroup/v1/blkio';
import * as cpu from '../../../lib/cgroup/v1/cpu';
import * as cpuacct from '../../../lib/cgroup/v1/cpuacct';
import * as cpuset from '../../../lib/cgroup/v1/cpuset';
import * as devices from '../../../lib/cgroup/v1/devices';
import * as freezer from '../../../lib/cgroup/v1/freezer';
import * as hugetlb from '../../../lib/cgroup/v1/hugetlb';
import * as memory from '../../../lib/cgroup/v1/memory';
import * as pids from '../../../lib/cgroup/v1/pids';
import { type CgroupFixture, makeCgroupFixture } from '../../helpers/cgroup-fixture';

let fx: CgroupFixture;
const MiB = 1 << 20;

/** A populated container cgroup in the hierarchy of `controller`. */
function cg(controller: string, rel = 'hull/c1'): string {
  const dir = path.join(fx.mount(controller).dir, rel);
  fx.populate([dir]);
  return dir;
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'latin1').trim();

beforeEach(() => (fx = makeCgroupFixture('v1')));
afterEach(() => fx.cleanup());

describe('v1 memory', () => {
  it('writes limit, reservation, memsw, swappiness and the OOM switch', () => {
    const dir = cg('memory');
    memory.apply(dir, { memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 10, disableOOMKiller: true } });
    expect(read(dir, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(read(dir, 'memory.memsw.limit_in_bytes')).toBe(String(128 * MiB));
    expect(read(dir, 'memory.soft_limit_in_bytes')).toBe(String(32 * MiB));
    expect(read(dir, 'memory.swappiness')).toBe('10');
    expect(read(dir, 'memory.oom_control')).toBe('1');
  });

  it('orders memory and memsw writes so the kernel never sees limit > memsw', () => {
    const dir = cg('memory');
    const write = jest.spyOn(files, 'writeCgroupFile');
    const order = () => write.mock.calls.map((c) => c[1]).filter((f) => f.endsWith('limit_in_bytes'));
    try {
      fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(64 * MiB));
      memory.apply(dir, { memory: { limit: 128 * MiB, swap: 256 * MiB } }); // raising: memsw first
      expect(order()).toEqual(['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
      write.mockClear();
      memory.apply(dir, { memory: { limit: 32 * MiB, swap: 64 * MiB } }); // lowering below current: memory first
      expect(order()).toEqual(['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
    } finally {
      write.mockRestore();
    }
  });

  it('sets unlimited memsw along with unlimited memory', () => {
    const dir = cg('memory');
    memory.apply(dir, { memory: { limit: -1 } });
    expect(read(dir, 'memory.limit_in_bytes')).toBe('-1');
    expect(read(dir, 'memory.memsw.limit_in_bytes')).toBe('-1');
  });

  it('says clearly that swap needs swap accounting', () => {
    fx.cleanup();
    fx = makeCgroupFixture('v1', { swapAccounting: false });
    const dir = cg('memory');
    expect(() => memory.apply(dir, { memory: { limit: 64 * MiB, swap: 128 * MiB } })).toThrow(
      expect.objectContaining({ code: 'EUNSUPPORTED', field: 'linux.resources.memory.swap', message: expect.stringMatching(/memory\.memsw\.limit_in_bytes` does not exist.*swapaccount=1/) }),
    );
    expect(() => memory.apply(dir, { memory: { limit: 64 * MiB } })).not.toThrow();
  });

  it('refuses a limit below usage when checkBeforeUpdate is set', () => {
    const dir = cg('memory');
    fs.writeFileSync(path.join(dir, 'memory.usage_in_bytes'), String(10 * MiB));
    expect(() => memory.apply(dir, { memory: { limit: 5 * MiB, checkBeforeUpdate: true } })).toThrow(
      expect.objectContaining({ code: 'EBUSY', field: 'linux.resources.memory.limit' }),
    );
  });

  it('names the file and the field when a write fails', () => {
    const dir = cg('memory');
    fs.rmSync(path.join(dir, 'memory.swappiness'));
    expect(() => memory.apply(dir, { memory: { swappiness: 1 } })).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        field: 'linux.resources.memory.swappiness',
        message: expect.stringMatching(/^linux\.resources\.memory\.swappiness: open `.*hull\/c1\/memory\.swappiness`: no such file or directory$/),
      }),
    );
  });

  it('samples usage, memory.stat totals, kmem and OOM kills', () => {
    const dir = cg('memory');
    fs.writeFileSync(path.join(dir, 'memory.usage_in_bytes'), '8196096\n');
    fs.writeFileSync(path.join(dir, 'memory.max_usage_in_bytes'), '33554432\n');
    fs.writeFileSync(path.join(dir, 'memory.kmem.usage_in_bytes'), '1228800\n');
    fs.writeFileSync(path.join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    fs.writeFileSync(
      path.join(dir, 'memory.stat'),
      'cache 1\nrss 2\nmapped_file 3\nswap 0\npgfault 4\ntotal_cache 5296128\ntotal_rss 1708032\ntotal_rss_huge 0\ntotal_mapped_file 4096\ntotal_swap 0\ntotal_pgfault 37107\ntotal_pgmajfault 18\n',
    );
    const s = memory.stats(dir);
    expect(s.memory).toEqual({
      usage: 8196096,
      maxUsage: 33554432,
      rss: 1708032,
      cache: 5296128,
      swap: 0,
      kernelUsage: 1228800,
      mappedFile: 4096,
      pgfault: 37107,
      pgmajfault: 18,
    });
    expect(s.oomKills).toBe(2);
    expect(memory.oomKillCount(dir)).toBe(2);
    expect(s.measured).toEqual(expect.arrayContaining(['memory.usage', 'memory.rss', 'memory.kernelUsage', 'oomKills']));
  });

  it('leaves kmem unmeasured where the kernel has no file for it', () => {
    const dir = cg('memory');
    fs.rmSync(path.join(dir, 'memory.kmem.usage_in_bytes'));
    const s = memory.stats(dir);
    expect(s.memory.kernelUsage).toBeUndefined();
    expect(s.measured).not.toContain('memory.kernelUsage');
  });
});

describe('v1 cpu and cpuacct', () => {
  it('writes shares, quota, period, burst, rt and idle', () => {
    const dir = cg('cpu');
    cpu.apply(dir, { cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, idle: 1 } });
    expect(read(dir, 'cpu.shares')).toBe('512');
    expect(read(dir, 'cpu.cfs_quota_us')).toBe('50000');
    expect(read(dir, 'cpu.cfs_period_us')).toBe('100000');
    expect(read(dir, 'cpu.cfs_burst_us')).toBe('1000');
    expect(read(dir, 'cpu.rt_runtime_us')).toBe('950000');
    expect(read(dir, 'cpu.idle')).toBe('1');
  });

  it('refuses shares the kernel clamped', () => {
    const dir = cg('cpu');
    // a fixture cannot clamp: answer the read-back as the kernel would for an out-of-range value
    const back = jest.spyOn(files, 'readCgroupFile').mockReturnValue('262144\n');
    try {
      expect(() => cpu.apply(dir, { cpu: { shares: 300000 } })).toThrow(
        expect.objectContaining({ field: 'linux.resources.cpu.shares', message: expect.stringMatching(/the kernel set 262144 instead of 300000 in `.*cpu\.shares`/) }),
      );
    } finally {
      back.mockRestore();
    }
  });

  it('samples throttling and cpu time, USER_HZ ticks as ns', () => {
    const dir = cg('cpu');
    fs.writeFileSync(path.join(dir, 'cpu.stat'), 'nr_periods 10\nnr_throttled 4\nthrottled_time 123456789\nnr_bursts 0\nburst_time 0\n');
    fs.writeFileSync(path.join(dir, 'cpuacct.usage'), '60295250443\n');
    fs.writeFileSync(path.join(dir, 'cpuacct.stat'), 'user 3236\nsystem 2793\n');
    expect(cpu.stats(dir).cpu).toMatchObject({ throttledPeriods: 4, throttledTimeNs: 123456789 });
    expect(cpuacct.stats(dir).cpu).toMatchObject({ totalNs: 60295250443, userNs: 32_360_000_000, systemNs: 27_930_000_000 });
  });
});

describe('v1 cpuset', () => {
  it('copies cpus and mems into every new directory, top-down', () => {
    const mount = fx.mount('cpuset').dir;
    const dir = path.join(mount, 'hull/c1');
    fx.populate([dir]);
    cpuset.createDir(mount, dir);
    expect(read(path.join(mount, 'hull'), 'cpuset.cpus')).toBe('0-3');
    expect(read(dir, 'cpuset.cpus')).toBe('0-3');
    expect(read(dir, 'cpuset.mems')).toBe('0');
  });

  it('keeps values already set', () => {
    const mount = fx.mount('cpuset').dir;
    const dir = path.join(mount, 'c2');
    fx.populate([dir]);
    fs.writeFileSync(path.join(dir, 'cpuset.cpus'), '1\n');
    cpuset.createDir(mount, dir);
    expect(read(dir, 'cpuset.cpus')).toBe('1');
  });

  it('writes cpus and mems', () => {
    const dir = cg('cpuset');
    cpuset.apply(dir, { cpu: { cpus: '0-1', mems: '0' } });
    expect(read(dir, 'cpuset.cpus')).toBe('0-1');
  });
});

describe('v1 pids', () => {
  it('writes a limit, and max for ≤ 0', () => {
    const dir = cg('pids');
    pids.apply(dir, { pids: { limit: 20 } });
    expect(read(dir, 'pids.max')).toBe('20');
    pids.apply(dir, { pids: { limit: 0 } });
    expect(read(dir, 'pids.max')).toBe('max');
  });

  it('samples current and limit, max as undefined', () => {
    const dir = cg('pids');
    fs.writeFileSync(path.join(dir, 'pids.current'), '7\n');
    expect(pids.stats(dir).pids).toEqual({ current: 7, limit: undefined });
    fs.writeFileSync(path.join(dir, 'pids.max'), '20\n');
    const s = pids.stats(dir);
    expect(s.pids).toEqual({ current: 7, limit: 20 });
    expect(s.measured).toEqual(['pids.current', 'pids.limit']);
  });
});

describe('v1 devices', () => {
  it('turns OCI rules into allow/deny writes, in order', () => {
    expect(
      devices.deviceWrites([
        { allow: false, access: 'rwm' },
        { allow: false, type: 'a', major: -1, minor: -1, access: 'mwr' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
        { allow: true, type: 'b', major: null, minor: 0 },
        { allow: true },
      ]),
    ).toEqual([
      { file: 'devices.deny', value: 'a' },
      { file: 'devices.deny', value: 'a' },
      { file: 'devices.allow', value: 'c 1:3 rwm' },
      { file: 'devices.allow', value: 'c 136:* rw' },
      { file: 'devices.allow', value: 'b *:0 rwm' },
      { file: 'devices.allow', value: 'a' },
    ]);
  });

  it('spells a wildcard rule with partial access as its char and block halves', () => {
    // the kernel reads any line starting with `a` as "everything"
    expect(devices.deviceWrite({ allow: true, type: 'a', access: 'r' })).toEqual([
      { file: 'devices.allow', value: 'c *:* r' },
      { file: 'devices.allow', value: 'b *:* r' },
    ]);
  });

  it('writes to the files', () => {
    const dir = cg('devices');
    devices.apply(dir, { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    expect(read(dir, 'devices.deny')).toBe('a');
    expect(read(dir, 'devices.allow')).toBe('c 1:3 rwm');
  });
});

describe('v1 freezer', () => {
  it('freezes, reads the state, thaws', async () => {
    const dir = cg('freezer');
    await freezer.freeze(dir);
    expect(freezer.state(dir)).toBe('FROZEN');
    expect(freezer.isFrozen(dir)).toBe(true);
    await freezer.thaw(dir);
    expect(freezer.isFrozen(dir)).toBe(false);
  });

  it('gives up, thawed, when the state stays FREEZING', async () => {
    const dir = cg('freezer');
    const real = files.readCgroupFile;
    const state = jest.spyOn(files, 'readCgroupFile').mockImplementation((d, f) => (f === 'freezer.state' ? 'FREEZING\n' : real(d, f)));
    const write = jest.spyOn(files, 'writeCgroupFile');
    try {
      await expect(freezer.freeze(dir, { timeoutMs: 30, pollMs: 1 })).rejects.toThrow(/freeze `.*freezer\.state`: still FREEZING after 30 ms/);
      expect(write.mock.calls.at(-1)?.slice(1)).toEqual(['freezer.state', 'THAWED']);
    } finally {
      state.mockRestore();
      write.mockRestore();
    }
    expect(read(dir, 'freezer.state')).toBe('THAWED');
  });
});

describe('v1 blkio and hugetlb', () => {
  it('uses blkio.bfq.weight when CFQ is gone, and writes throttles', () => {
    const dir = cg('blkio');
    blkio.apply(dir, { blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] } });
    expect(read(dir, 'blkio.bfq.weight')).toBe('500');
    expect(read(dir, 'blkio.throttle.read_bps_device')).toBe('8:0 1048576');
  });

  it('writes hugetlb limits by page size', () => {
    const dir = cg('hugetlb');
    hugetlb.apply(dir, { hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }] });
    expect(read(dir, 'hugetlb.2MB.limit_in_bytes')).toBe(String(4 * MiB));
  });
});
