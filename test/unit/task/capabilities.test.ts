import * as fs from 'node:fs';
import { capMask } from '../../../lib/container/plan';
import { HullError } from '../../../lib/errors';
import { CAPABILITIES, DEFAULT_CAPABILITIES, validateSpec } from '../../../lib/oci';
import { defaultSpec } from '../../../lib/oci/spec';
import { computeCapabilities } from '../../../lib/task';

const LAST = 40;
const DEFAULTS = [...DEFAULT_CAPABILITIES];
const ALL = Object.keys(CAPABILITIES).sort();

function caps(opts: { uid?: number; allow?: string[]; add?: string[]; drop?: string[]; capLast?: number }) {
  return computeCapabilities({ uid: 0, capLast: LAST, ...opts });
}

function thrown(fn: () => unknown): HullError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HullError);
    return e as HullError;
  }
  throw new Error('expected an error');
}

describe('computeCapabilities: the set', () => {
  test('by default: Nomad\'s 13 defaults, the mask 0xa80405fb', () => {
    const c = caps({});
    expect(c.bounding).toEqual(DEFAULTS);
    expect(capMask(c.bounding).toString(16)).toBe('a80405fb');
  });

  test('allow all alone adds nothing (only add enlarges the set)', () => {
    expect(caps({ allow: ['all'] }).bounding).toEqual(DEFAULTS);
  });

  test('allow narrows the defaults', () => {
    expect(caps({ allow: ['chown', 'kill', 'net_raw'] }).bounding).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    expect(caps({ allow: [] }).bounding).toEqual([]);
  });

  test('drop removes; drop all empties', () => {
    expect(caps({ drop: ['chown', 'CAP_KILL'] }).bounding).toEqual(DEFAULTS.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL'));
    expect(caps({ drop: ['all'] }).bounding).toEqual([]);
  });

  test('Nomad\'s "drop some" case', () => {
    const c = caps({ allow: ['all'], drop: ['chown', 'dac_override', 'fowner', 'kill', 'mknod', 'sys_chroot', 'audit_write'] });
    expect(c.bounding).toEqual(['CAP_FSETID', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID']);
  });

  test('add wins over drop', () => {
    expect(caps({ drop: ['all'], add: ['chown', 'kill'] }).bounding).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    expect(caps({ drop: ['chown'], add: ['chown'] }).bounding).toEqual(DEFAULTS);
  });

  test('add needs allow, and an add that allow lists enlarges the set', () => {
    expect(caps({ allow: [...DEFAULTS, 'sys_admin'], add: ['sys_admin'] }).bounding).toEqual([...DEFAULTS, 'CAP_SYS_ADMIN'].sort());
    expect(caps({ allow: ['all'], add: ['all'] }).bounding).toEqual(ALL);
  });

  test('an add not in allow is refused, listing every forbidden name (field capAdd)', () => {
    const e = thrown(() => caps({ add: ['net_raw', 'CAP_SYS_TIME', 'chown', 'Net_Admin'] }));
    expect(e.code).toBe('EINVALIDCONFIG');
    expect(e.field).toBe('capAdd');
    expect(e.message).toBe('invalid config: capAdd: the following capabilities are not allowed: net_admin, net_raw, sys_time');
    expect(thrown(() => caps({ allow: ['chown'], add: ['kill'] })).message).toMatch(/not allowed: kill$/);
    // with allow defaulted, add all asks for more than the defaults
    expect(thrown(() => caps({ add: ['all'] })).field).toBe('capAdd');
  });

  test('names: any case, CAP_ optional, surrounding space ignored', () => {
    for (const n of ['sys_admin', 'SYS_ADMIN', 'cap_sys_admin', 'CAP_SYS_ADMIN', 'Cap_Sys_Admin', ' sys_admin ']) {
      expect(caps({ allow: [n], add: [n] }).bounding).toEqual(['CAP_SYS_ADMIN']);
    }
    for (const all of ['all', 'ALL', 'All', 'cap_all']) expect(caps({ drop: [all] }).bounding).toEqual([]);
  });

  test('all is every capability the kernel knows (cap_last_cap)', () => {
    expect(caps({ allow: ['all'], add: ['all'] }).bounding).toHaveLength(41);
    const old = caps({ capLast: 36, allow: ['all'], add: ['all'] }).bounding ?? [];
    expect(old).toHaveLength(37);
    expect(old).toContain('CAP_BLOCK_SUSPEND');
    expect(old).not.toContain('CAP_AUDIT_READ');
    expect(old).not.toContain('CAP_BPF');
    // a kernel newer than hull: all stops at the last capability hull can name
    expect(caps({ capLast: 45, allow: ['all'], add: ['all'] }).bounding).toEqual(ALL);
  });

  test('cap_last_cap is read from the kernel when not given', () => {
    const c = computeCapabilities({ uid: 0, allow: ['all'], add: ['all'] });
    const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    expect(c.bounding).toHaveLength(Math.min(last, 40) + 1);
  });

  test('unknown names are refused, every one listed, in the field they came from', () => {
    const e = thrown(() => caps({ add: ['chown', 'net_bogus', 'CAP_FLY'] }));
    expect(e.field).toBe('capAdd');
    expect(e.message).toBe('invalid config: capAdd: unknown capabilities: "net_bogus", "CAP_FLY"');
    expect(thrown(() => caps({ drop: ['nope'] })).field).toBe('capDrop');
    expect(thrown(() => caps({ allow: ['nope', 'chown', ''] })).message).toBe('invalid config: allowCaps: unknown capabilities: "nope", ""');
    expect(thrown(() => caps({ add: [5 as unknown as string] })).field).toBe('capAdd');
  });

  test('a capability newer than the kernel is refused', () => {
    const e = thrown(() => caps({ capLast: 37, allow: ['all', 'bpf'], add: ['bpf', 'perfmon'] }));
    expect(e.field).toBe('allowCaps');
    expect(e.message).toMatch(/not supported by this kernel \(cap_last_cap 37\): "bpf"$/);
    expect(thrown(() => caps({ capLast: 37, allow: ['all'], add: ['perfmon'] })).message).toMatch(/capAdd: .*"perfmon"/);
  });

  test('bad uid or capLast', () => {
    expect(thrown(() => caps({ uid: -1 })).field).toBe('uid');
    expect(thrown(() => caps({ uid: 1.5 })).field).toBe('uid');
    expect(thrown(() => caps({ capLast: -1 })).field).toBe('capLast');
  });
});

describe('computeCapabilities: the five sets', () => {
  test('root: the set in bounding, permitted, effective and inheritable; no ambient', () => {
    const c = caps({ uid: 0 });
    expect(c).toEqual({ bounding: DEFAULTS, permitted: DEFAULTS, effective: DEFAULTS, inheritable: DEFAULTS, ambient: [] });
    const withAdd = caps({ uid: 0, allow: ['all'], add: ['sys_admin'], drop: ['chown'] });
    const set = [...DEFAULTS.filter((n) => n !== 'CAP_CHOWN'), 'CAP_SYS_ADMIN'].sort();
    expect(withAdd).toEqual({ bounding: set, permitted: set, effective: set, inheritable: set, ambient: [] });
  });

  test('non-root without add (nobody): nothing inheritable, permitted, effective or ambient', () => {
    const c = caps({ uid: 65534 });
    expect(c).toEqual({ bounding: DEFAULTS, inheritable: [], permitted: [], effective: [], ambient: [] });
    expect(caps({ uid: 1000, drop: ['kill'] }).permitted).toEqual([]);
  });

  test('non-root with add: exactly the added names inheritable, permitted, effective and ambient', () => {
    const c = caps({ uid: 65534, add: ['net_bind_service'] });
    expect(c).toEqual({
      bounding: DEFAULTS,
      inheritable: ['CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_NET_BIND_SERVICE'],
      effective: ['CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    });
    expect(capMask(c.ambient)).toBe(1n << 10n);
    const two = caps({ uid: 1, allow: ['all'], add: ['SYS_ADMIN', 'cap_chown'], drop: ['all'] });
    expect(two).toEqual({
      bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
      inheritable: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
      permitted: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
      effective: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
      ambient: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
    });
  });

  test('ambient ⊆ permitted ∩ inheritable and every set ⊆ bounding (what the kernel requires)', () => {
    const inputs = [
      { uid: 0 },
      { uid: 65534 },
      { uid: 65534, add: ['net_bind_service'] },
      { uid: 7, allow: ['all'], add: ['all'], drop: ['all'] },
      { uid: 7, allow: ['all'], add: ['sys_admin', 'net_raw'], drop: ['setuid'] },
    ];
    for (const input of inputs) {
      const c = caps(input);
      const bnd = capMask(c.bounding);
      for (const s of [c.permitted, c.effective, c.inheritable, c.ambient]) expect(capMask(s) & ~bnd).toBe(0n);
      expect(capMask(c.ambient) & ~(capMask(c.permitted) & capMask(c.inheritable))).toBe(0n);
      expect(capMask(c.effective) & ~capMask(c.permitted)).toBe(0n);
    }
  });

  test('the result is a valid OCI process.capabilities, and each call returns fresh arrays', () => {
    const spec = defaultSpec();
    spec.process!.capabilities = caps({ uid: 65534, add: ['net_bind_service'] });
    expect(() => validateSpec(spec)).not.toThrow();
    const a = caps({});
    a.bounding!.push('CAP_SYS_ADMIN');
    expect(a.permitted).toEqual(DEFAULTS);
    expect(caps({}).bounding).toEqual(DEFAULTS);
  });
});
