export { type CgroupHost, type CgroupMode, type DetectOptions, type Hierarchy, clearDetectionCache, detectHierarchies } from './detect';
export { type CgroupManager, type CgroupManagerOptions, type DestroyOptions, FsCgroupManager, createCgroupManager } from './manager';
export { type MountinfoEntry, type ProcCgroupEntry, parseMountinfo, parseProcCgroup, unescapeMountField } from './parse';
export { type CgroupPath, hierarchyDir, resolveCgroupsPath } from './path';
export type {
  LinuxBlockIO,
  LinuxCPU,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxMemory,
  LinuxNetwork,
  LinuxPids,
  LinuxResources,
  LinuxThrottleDevice,
  LinuxWeightDevice,
} from './resources';
export { validateResources } from './resources';
export {
  type CgroupStats,
  type CpuStats,
  type MemoryStats,
  type PidsStats,
  StatsReader,
  cpuPercent,
  parseCpuList,
  parseFlatKeyed,
  parseNestedKeyed,
  parseSingleValue,
} from './stats';
export { sharesToWeight } from './v2/cpu';
