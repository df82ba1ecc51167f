import { writeCgroupFile } from '../files';
import { type LinuxResources, THROTTLE_KEYS } from '../resources';

const F = 'linux.resources.blockIO';

/** v1 blkio weight [10, 1000] → v2 io.weight [1, 10000] (runc BlkioWeightToIOWeight). */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const IO_MAX_KEYS: Record<(typeof THROTTLE_KEYS)[number], string> = {
  throttleReadBpsDevice: 'rbps',
  throttleWriteBpsDevice: 'wbps',
  throttleReadIOPSDevice: 'riops',
  throttleWriteIOPSDevice: 'wiops',
};

/**
 * cgroup v2 io controller (cgroup-v2.rst "IO"). A device's io.max line is written with only the keys given; the
 * kernel leaves the others as they were.
 */
export function apply(dir: string, r: LinuxResources): void {
  const b = r.blockIO;
  if (!b) return;
  if (b.weight) writeCgroupFile(dir, 'io.weight', `default ${blkioWeightToIoWeight(b.weight)}`, `${F}.weight`);
  b.weightDevice?.forEach((d, i) => {
    if (d.weight) {
      writeCgroupFile(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `${F}.weightDevice[${i}]`);
    }
  });
  for (const k of THROTTLE_KEYS) {
    b[k]?.forEach((d, i) => writeCgroupFile(dir, 'io.max', `${d.major}:${d.minor} ${IO_MAX_KEYS[k]}=${d.rate}`, `${F}.${k}[${i}]`));
  }
}
