import { writeCgroupFile } from '../files';
import type { LinuxDeviceCgroup, LinuxResources } from '../resources';

export interface DeviceWrite {
  file: 'devices.allow' | 'devices.deny';
  value: string;
}

/**
 * cgroup v1 devices controller (Documentation/admin-guide/cgroup-v1/devices.rst). The OCI rules are written in
 * order, so a leading deny-all followed by allows gives a whitelist.
 */
export function apply(dir: string, r: LinuxResources): void {
  r.devices?.forEach((rule, i) => {
    for (const w of deviceWrite(rule)) writeCgroupFile(dir, w.file, w.value, `linux.resources.devices[${i}]`);
  });
}

export function deviceWrites(rules: readonly LinuxDeviceCgroup[]): DeviceWrite[] {
  return rules.flatMap(deviceWrite);
}

/**
 * The writes for one rule. A rule for every device and access writes a bare `a`, which the kernel takes as
 * "reset to deny (or allow) all". The kernel reads ANY line starting with `a` that way and ignores the rest, so a
 * wildcard rule with partial access (`a *:* r`) must be spelled as its char and block halves instead.
 */
export function deviceWrite(rule: LinuxDeviceCgroup): DeviceWrite[] {
  const file = rule.allow ? 'devices.allow' : 'devices.deny';
  const type = rule.type ?? 'a';
  const access = rule.access || 'rwm';
  const numbers = `${num(rule.major)}:${num(rule.minor)}`;
  if (type !== 'a') return [{ file, value: `${type} ${numbers} ${access}` }];
  if (numbers === '*:*' && sameAccess(access, 'rwm')) return [{ file, value: 'a' }];
  return [
    { file, value: `c ${numbers} ${access}` },
    { file, value: `b ${numbers} ${access}` },
  ];
}

function num(n: number | null | undefined): string {
  return n == null || n === -1 ? '*' : String(n);
}

function sameAccess(a: string, b: string): boolean {
  return [...a].sort().join('') === [...b].sort().join('');
}
