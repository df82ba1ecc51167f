import { validateResources } from '../../../lib/cgroup/resources';

const bad = (r: Parameters<typeof validateResources>[0], field: string, msg?: RegExp) => {
  let err: unknown;
  try {
    validateResources(r);
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: 'EINVALIDCONFIG', field });
  if (msg) expect((err as Error).message).toMatch(msg);
};

describe('validateResources', () => {
  it('accepts a typical spec, -1 as unlimited and 0 as unset', () => {
    expect(() =>
      validateResources({
        memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 0 },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0', idle: 0 },
        pids: { limit: -1 },
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }],
        blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 << 20 }] },
        hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
        unified: { 'memory.high': '1G' },
      }),
    ).not.toThrow();
    expect(() => validateResources({ memory: { limit: -1 }, cpu: { shares: 0, quota: -1 } })).not.toThrow();
  });

  it('refuses shares outside the kernel range', () => {
    bad({ cpu: { shares: 1 } }, 'linux.resources.cpu.shares', /invalid config: linux\.resources\.cpu\.shares: 1 must be between 2 and 262144/);
    bad({ cpu: { shares: 262145 } }, 'linux.resources.cpu.shares');
  });

  it('refuses CFS values the scheduler rejects', () => {
    bad({ cpu: { quota: 999 } }, 'linux.resources.cpu.quota');
    bad({ cpu: { period: 2_000_000 } }, 'linux.resources.cpu.period');
  });

  it('refuses swap below the memory limit or without one', () => {
    bad({ memory: { limit: 100 << 20, swap: 50 << 20 } }, 'linux.resources.memory.swap', /memory\+swap/);
    bad({ memory: { swap: 50 << 20 } }, 'linux.resources.memory.swap');
  });

  it('refuses non-integers and values below -1', () => {
    bad({ memory: { limit: 1.5 } }, 'linux.resources.memory.limit', /must be an integer/);
    bad({ memory: { limit: -2 } }, 'linux.resources.memory.limit');
    bad({ memory: { swappiness: 101 } }, 'linux.resources.memory.swappiness');
    bad({ pids: { limit: 0.5 } }, 'linux.resources.pids.limit');
  });

  it('refuses malformed cpu lists, device rules, hugepage sizes and unified keys', () => {
    bad({ cpu: { cpus: '0-' } }, 'linux.resources.cpu.cpus');
    bad({ devices: [{ allow: true, type: 'x' }] }, 'linux.resources.devices[0].type');
    bad({ devices: [{ allow: true, access: 'rwx' }] }, 'linux.resources.devices[0].access');
    bad({ hugepageLimits: [{ pageSize: '2M', limit: 0 }] }, 'linux.resources.hugepageLimits[0].pageSize');
    bad({ unified: { '../memory.max': '1' } }, 'linux.resources.unified');
    bad({ unified: { 'cgroup.procs': '1' } }, 'linux.resources.unified.cgroup.procs');
    bad({ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight');
  });
});
