import type { LinuxDeviceCgroup, Spec } from '../oci/schema';

/**
 * The rules that follow the config's own: any character device node may be created (the node
 * alone grants nothing), and the default devices, ptys and the devices of linux.devices may be
 * used. Without them a config that denies all (as `hull spec` writes) could not even make
 * /dev/null. Unlike runc, no block device node may be made: a default task has no business with
 * the host's disks, not even a node of one.
 */
const DEFAULT_ALLOW: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

export function deviceRules(spec: Spec): LinuxDeviceCgroup[] {
  const own = spec.linux?.resources?.devices ?? [];
  const devices: LinuxDeviceCgroup[] = (spec.linux?.devices ?? [])
    .filter((d) => d.type === 'c' || d.type === 'b')
    .map((d) => ({ allow: true, type: d.type as 'c' | 'b', major: d.major ?? 0, minor: d.minor ?? 0, access: 'rwm' }));
  return [...own, ...DEFAULT_ALLOW, ...devices];
}
