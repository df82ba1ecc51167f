import { cgroupFileExists, warnOnce, writeCgroupFile } from '../files';
import { type LinuxBlockIO, type LinuxResources, THROTTLE_KEYS } from '../resources';

const F = 'linux.resources.blockIO';

const THROTTLE_FILES: Record<(typeof THROTTLE_KEYS)[number], string> = {
  throttleReadBpsDevice: 'blkio.throttle.read_bps_device',
  throttleWriteBpsDevice: 'blkio.throttle.write_bps_device',
  throttleReadIOPSDevice: 'blkio.throttle.read_iops_device',
  throttleWriteIOPSDevice: 'blkio.throttle.write_iops_device',
};

/**
 * cgroup v1 blkio (Documentation/admin-guide/cgroup-v1/blkio-controller.rst). CFQ's blkio.weight went with CFQ
 * in Linux 5.0; with BFQ the knob is blkio.bfq.weight, so use whichever exists.
 */
export function apply(dir: string, r: LinuxResources): void {
  const b = r.blockIO;
  if (!b) return;
  if (b.weight) writeCgroupFile(dir, weightFile(dir, ''), String(b.weight), `${F}.weight`);
  if (b.leafWeight) applyLeafWeight(dir, b.leafWeight);
  b.weightDevice?.forEach((d, i) => {
    if (d.weight) writeCgroupFile(dir, weightFile(dir, '_device'), `${d.major}:${d.minor} ${d.weight}`, `${F}.weightDevice[${i}]`);
  });
  applyThrottles(dir, b);
}

function weightFile(dir: string, suffix: string): string {
  return cgroupFileExists(dir, `blkio.weight${suffix}`) ? `blkio.weight${suffix}` : `blkio.bfq.weight${suffix}`;
}

function applyLeafWeight(dir: string, w: number): void {
  if (!cgroupFileExists(dir, 'blkio.leaf_weight')) {
    warnOnce('HULL_CGROUP_LEAF_WEIGHT', 'linux.resources.blockIO.leafWeight is ignored: this kernel has no blkio.leaf_weight');
    return;
  }
  writeCgroupFile(dir, 'blkio.leaf_weight', String(w), `${F}.leafWeight`);
}

function applyThrottles(dir: string, b: LinuxBlockIO): void {
  for (const k of THROTTLE_KEYS) {
    b[k]?.forEach((d, i) => writeCgroupFile(dir, THROTTLE_FILES[k], `${d.major}:${d.minor} ${d.rate}`, `${F}.${k}[${i}]`));
  }
}
