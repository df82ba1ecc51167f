import * as fs from 'node:fs';
import * as path from 'node:path';
import * as files from '../../../lib/cgroup/files';
import { enableControllers } from '../../../lib/cgroup/v2/controllers';
import * as cpu from '../../../lib/cgroup/v2/cpu';
import * as cpuset from '../../../lib/cgroup/v2/cpuset';
import * as devices from '../../../lib/cgroup/v2/devices';
import * as freezer from '../../../lib/cgroup/v2/freezer';
import * as hugetlb from '../../../lib/cgroup/v2/hugetlb';
import * as io from '../../../lib/cgroup/v2/io';
import * as memory from '../../../lib/cgroup/v2/memory';
import * as pids from '../../../lib/cgroup/v2/pids';
import * as unified from '../../../lib/cgroup/v2/unified';
import { type CgroupFixture, makeCgroupFixture } from '../../helpers/cgroup-fixture';

let fx: CgroupFixture;
let dir: string;
const MiB = 1 << 20;
const read = (file: string, d = dir) => fs.readFileSync(path.join(d, file), 'latin1').trim();

beforeEach(() => {
  fx = makeCgroupFixture('v2');
  dir = path.join(fx.root, 'hull/c1');
  fx.populate([dir]);
});
afterEach(() => fx.cleanup());

describe('v2 cpu', () => {
  it('converts shares to weight as runc does', () => {
    expect(cpu.sharesToWeight(2)).toBe(1);
    expect(cpu.sharesToWeight(1024)).toBe(39);
    expect(cpu.sharesToWeight(262144)).toBe(10000);
    expect(cpu.sharesToWeight(0)).toBe(0);
  });

  it('builds cpu.max from quota and period', () => {
    expect(cpu.cpuMaxValue({ quota: 50000, period: 100000 })).toBe('50000 100000');
    expect(cpu.cpuMaxValue({ quota: -1, period: 100000 })).toBe('max 100000');
    expect(cpu.cpuMaxValue({ quota: 20000 })).toBe('20000');
    expect(cpu.cpuMaxValue({ period: 50000 })).toBe('max 50000');
    expect(cpu.cpuMaxValue({ shares: 10 })).toBeUndefined();
  });

  it('writes weight, max, burst and idle', () => {
    cpu.apply(dir, { cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 1 } });
    expect(read('cpu.weight')).toBe('39');
    expect(read('cpu.max')).toBe('50000 100000');
    expect(read('cpu.max.burst')).toBe('1000');
    expect(read('cpu.idle')).toBe('1');
  });

  it('refuses real-time budgets', () => {
    expect(() => cpu.apply(dir, { cpu: { realtimeRuntime: 1000 } })).toThrow(expect.objectContaining({ code: 'EUNSUPPORTED' }));
  });

  it('samples cpu.stat in ns', () => {
    fs.writeFileSync(
      path.join(dir, 'cpu.stat'),
      'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 20\nnr_throttled 5\nthrottled_usec 1234\nnr_bursts 0\nburst_usec 0\n',
    );
    const s = cpu.stats(dir);
    expect(s.cpu).toEqual({ totalNs: 2.5e9, userNs: 2e9, systemNs: 5e8, throttledPeriods: 5, throttledTimeNs: 1234000 });
    expect(s.measured).toEqual(['cpu.totalNs', 'cpu.userNs', 'cpu.systemNs', 'cpu.throttledPeriods', 'cpu.throttledTimeNs']);
  });

  it('measures usage without the cpu controller, throttling not', () => {
    fs.writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 10\nuser_usec 6\nsystem_usec 4\n');
    expect(cpu.stats(dir).measured).toEqual(['cpu.totalNs', 'cpu.userNs', 'cpu.systemNs']);
  });
});

describe('v2 memory', () => {
  it('converts memory+swap to swap alone', () => {
    expect(memory.swapMaxValue({ limit: 64 * MiB, swap: 96 * MiB })).toBe(String(32 * MiB));
    expect(memory.swapMaxValue({ limit: 64 * MiB, swap: 64 * MiB })).toBe('0');
    expect(memory.swapMaxValue({ limit: 64 * MiB, swap: -1 })).toBe('max');
    expect(memory.swapMaxValue({ limit: -1 })).toBe('max');
    expect(memory.swapMaxValue({ limit: 64 * MiB })).toBeUndefined();
  });

  it('writes max, low, swap.max and oom.group', () => {
    memory.apply(dir, { memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB } });
    expect(read('memory.max')).toBe(String(64 * MiB));
    expect(read('memory.low')).toBe(String(32 * MiB));
    expect(read('memory.swap.max')).toBe(String(32 * MiB));
    expect(read('memory.oom.group')).toBe('1');
    memory.apply(dir, { memory: { limit: -1 } });
    expect(read('memory.max')).toBe('max');
  });

  it('tolerates a missing memory.swap.max only for max and 0', () => {
    fs.rmSync(path.join(dir, 'memory.swap.max'));
    expect(() => memory.apply(dir, { memory: { limit: -1 } })).not.toThrow();
    expect(() => memory.apply(dir, { memory: { limit: 64 * MiB, swap: 96 * MiB } })).toThrow(
      expect.objectContaining({ code: 'ENOENT', field: 'linux.resources.memory.swap' }),
    );
  });

  it('warns once about knobs v2 does not have', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      memory.apply(dir, { memory: { disableOOMKiller: true } });
      memory.apply(dir, { memory: { disableOOMKiller: true } });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/disableOOMKiller is ignored/);
    } finally {
      warn.mockRestore();
    }
  });

  it('samples current, peak, stat, swap and oom kills', () => {
    fs.writeFileSync(path.join(dir, 'memory.current'), '1048576\n');
    fs.writeFileSync(path.join(dir, 'memory.peak'), '2097152\n');
    fs.writeFileSync(path.join(dir, 'memory.swap.current'), '4096\n');
    fs.writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 1\n');
    fs.writeFileSync(
      path.join(dir, 'memory.stat'),
      'anon 700000\nfile 300000\nkernel 50000\nkernel_stack 16384\nfile_mapped 8192\nfile_dirty 0\npgfault 900\npgmajfault 3\n',
    );
    const s = memory.stats(dir);
    expect(s.memory).toEqual({
      usage: 1048576,
      maxUsage: 2097152,
      rss: 700000,
      cache: 300000,
      swap: 4096,
      kernelUsage: 50000,
      mappedFile: 8192,
      pgfault: 900,
      pgmajfault: 3,
    });
    expect(s.oomKills).toBe(1);
    expect(memory.oomKillCount(dir)).toBe(1);
  });

  it('leaves memory.peak unmeasured before Linux 5.19', () => {
    fs.rmSync(path.join(dir, 'memory.peak'));
    const s = memory.stats(dir);
    expect(s.memory.maxUsage).toBeUndefined();
    expect(s.measured).not.toContain('memory.maxUsage');
  });
});

describe('v2 cpuset, pids, io, hugetlb, unified', () => {
  it('writes cpuset and pids', () => {
    cpuset.apply(dir, { cpu: { cpus: '1', mems: '0' } });
    pids.apply(dir, { pids: { limit: 20 } });
    expect(read('cpuset.cpus')).toBe('1');
    expect(read('pids.max')).toBe('20');
  });

  it('maps blkio weight and throttles to io.weight and io.max', () => {
    expect(io.blkioWeightToIoWeight(10)).toBe(1);
    expect(io.blkioWeightToIoWeight(1000)).toBe(10000);
    const write = jest.spyOn(files, 'writeCgroupFile');
    try {
      io.apply(dir, { blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 5 }] } });
      expect(write.mock.calls.map((c) => `${c[1]}=${c[2]}`)).toEqual(['io.weight=default 4950', 'io.max=8:0 rbps=1000', 'io.max=8:0 wiops=5']);
    } finally {
      write.mockRestore();
    }
  });

  it('writes hugetlb.<size>.max', () => {
    hugetlb.apply(dir, { hugepageLimits: [{ pageSize: '2MB', limit: -1 }] });
    expect(read('hugetlb.2MB.max')).toBe('max');
  });

  it('writes unified keys as given', () => {
    unified.apply(dir, { unified: { 'memory.high': '1073741824' } });
    expect(read('memory.high')).toBe('1073741824');
  });

  it('does not enforce device rules, and says so once', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      devices.apply(dir, { devices: [{ allow: false, access: 'rwm' }] });
      devices.apply(dir, { devices: [{ allow: false, access: 'rwm' }] });
      devices.apply(dir, {});
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/devices is not enforced on cgroup v2/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('v2 freezer', () => {
  it('writes cgroup.freeze and waits for cgroup.events', async () => {
    const done = freezer.freeze(dir, { pollMs: 1 });
    setTimeout(() => fs.writeFileSync(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n'), 10);
    await done;
    expect(read('cgroup.freeze')).toBe('1');
    expect(freezer.isFrozen(dir)).toBe(true);
    const thawed = freezer.thaw(dir, { pollMs: 1 });
    setTimeout(() => fs.writeFileSync(path.join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n'), 10);
    await thawed;
    expect(read('cgroup.freeze')).toBe('0');
  });

  it('unfreezes and fails when frozen never comes', async () => {
    await expect(freezer.freeze(dir, { timeoutMs: 20, pollMs: 1 })).rejects.toThrow(/freeze `.*hull\/c1`: `.*cgroup\.events` still says frozen 0 after 20 ms/);
    expect(read('cgroup.freeze')).toBe('0');
  });
});

describe('enableControllers', () => {
  it('enables the controllers in every parent from the mount down', () => {
    enableControllers(fx.root, dir, ['memory', 'pids']);
    expect(read('cgroup.subtree_control', fx.root)).toBe('+memory +pids');
    expect(read('cgroup.subtree_control', path.join(fx.root, 'hull'))).toBe('+memory +pids');
    expect(read('cgroup.subtree_control')).toBe(''); // not in the container's own
  });

  it('skips controllers already enabled and survives a refusing parent', () => {
    fs.writeFileSync(path.join(fx.root, 'cgroup.subtree_control'), 'memory\n');
    fs.rmSync(path.join(fx.root, 'hull', 'cgroup.subtree_control'));
    expect(() => enableControllers(fx.root, dir, ['memory', 'pids'])).not.toThrow();
    expect(read('cgroup.subtree_control', fx.root)).toBe('+pids');
  });
});
