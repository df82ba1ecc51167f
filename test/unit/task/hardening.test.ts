/**
 * The hardening a default task gets from `hull spec`'s config, checked against runc's defaults:
 * masked and read-only kernel files, no_new_privs, and the devices cgroup rules.
 */
import { deviceRules } from '../../../lib/container/device-rules';
import { defaultSpec } from '../../../lib/oci/spec';

/** runc's `spec` (libcontainer/specconv.Example). */
const RUNC_MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const RUNC_READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

describe('default hardening', () => {
  test('masked paths: runc\'s, /proc/kcore, /proc/keys, /proc/timer_list, /sys/firmware, /proc/acpi, /proc/scsi among them', () => {
    const masked = defaultSpec().linux?.maskedPaths ?? [];
    expect(masked).toEqual(expect.arrayContaining(RUNC_MASKED));
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi', '/proc/scsi']) expect(masked).toContain(p);
    // the one addition of newer runc versions
    expect(masked.filter((p) => !RUNC_MASKED.includes(p))).toEqual(['/sys/devices/virtual/powercap']);
  });

  test('read-only paths: runc\'s, /proc/sysrq-trigger included', () => {
    const ro = defaultSpec().linux?.readonlyPaths ?? [];
    expect([...ro].sort()).toEqual([...RUNC_READONLY].sort());
  });

  test('no_new_privs is on by default', () => {
    expect(defaultSpec().process?.noNewPrivileges).toBe(true);
  });

  test('devices: deny all, then only the default devices, ptys, and mknod of character devices', () => {
    const spec = defaultSpec();
    expect(spec.linux?.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
    const rules = deviceRules(spec);
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    const allowed = rules.slice(1);
    expect(allowed.every((r) => r.allow)).toBe(true);
    // m (mknod) for any char device and no block device; r and w only for the listed char devices
    expect(allowed.filter((r) => r.major === undefined && r.minor === undefined && r.access === 'm').map((r) => r.type).sort()).toEqual(['c']);
    expect(allowed.some((r) => r.type === 'b' || r.type === 'a' || r.type === undefined)).toBe(false);
    const rw = allowed.filter((r) => r.access !== 'm');
    expect(rw.every((r) => r.type === 'c' && r.access === 'rwm')).toBe(true);
    expect(rw.map((r) => `${r.major}:${r.minor ?? '*'}`).sort()).toEqual(
      // null zero full random urandom, tty console ptmx, the pts
      ['136:*', '1:3', '1:5', '1:7', '1:8', '1:9', '5:0', '5:1', '5:2'].sort(),
    );
    // nothing of type b (a disk) or a (all) may be read or written
    expect(allowed.some((r) => (r.type === 'b' || r.type === 'a' || r.type === undefined) && /[rw]/.test(r.access ?? ''))).toBe(false);
  });
});
