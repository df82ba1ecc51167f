import { warnOnce } from '../files';
import type { LinuxResources } from '../resources';

/**
 * cgroup v2 has no devices files: device access is decided by an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
 * attached to the cgroup (cgroup-v2.rst "Device controller"). hull does not load one yet, so device rules are NOT
 * enforced on v2: say so once instead of pretending. Mount namespaces and the absence of device nodes in the
 * rootfs still limit what a container can open.
 */
export function apply(_dir: string, r: LinuxResources): void {
  if (r.devices?.length) {
    warnOnce('HULL_CGROUP_V2_DEVICES', 'linux.resources.devices is not enforced on cgroup v2 (needs an eBPF device program)');
  }
}
