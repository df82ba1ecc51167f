/**
 * The OCI runtime-spec config (config.md, config-linux.md; versions 1.0.0 to 1.2.x) as a TypeBox
 * schema. This is hull's one internal model of a container: the CLI, the task executor and the
 * native layer all read a `Spec`.
 *
 * Objects allow additional properties because the spec says runtimes MUST ignore unknown ones
 * (extensions, `windows`, `solaris`, `vm`, newer fields); the known ones are checked strictly.
 * Only what the spec itself states is here (types, required fields, integer widths, the enums it
 * lists); hull's own rules (supported namespaces, kernel names, cgroup ranges) are in validate.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Integer schemas carry their spec width in `ociType` so errors can say "must be a uint32". */
function int(ociType: string, minimum: number, maximum: number): ReturnType<typeof Type.Integer> {
  return Type.Integer({ minimum, maximum, ociType });
}

// int64/uint64 bounds are doubles: JSON numbers are parsed to doubles, so 2^64-1 (RLIM_INFINITY)
// arrives as 2^64, and the bounds below round to the same values.
const uint16 = () => int('uint16', 0, 0xffff);
const uint32 = () => int('uint32', 0, 0xffffffff);
const int32 = () => int('int32', -0x80000000, 0x7fffffff);
const int64 = () => int('int64', -(2 ** 63), 2 ** 63);
const uint64 = () => int('uint64', 0, 2 ** 64);

const Str = () => Type.String();
const StrList = () => Type.Array(Type.String());
const StrMap = () => Type.Record(Type.String(), Type.String());
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);
/** A closed set of string values, as the spec enumerates them. */
const OneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

// ---------------------------------------------------------------------------------------------
// process
// ---------------------------------------------------------------------------------------------

export const ConsoleSizeSchema = Type.Object({ height: uint32(), width: uint32() });
export type ConsoleSize = Static<typeof ConsoleSizeSchema>;

export const UserSchema = Type.Object({
  uid: uint32(),
  gid: uint32(),
  umask: Opt(uint32()),
  additionalGids: Opt(Type.Array(uint32())),
  /** Windows only; accepted and ignored. */
  username: Opt(Str()),
});
export type User = Static<typeof UserSchema>;

export const LinuxCapabilitiesSchema = Type.Object({
  bounding: Opt(StrList()),
  effective: Opt(StrList()),
  inheritable: Opt(StrList()),
  permitted: Opt(StrList()),
  ambient: Opt(StrList()),
});
export type LinuxCapabilities = Static<typeof LinuxCapabilitiesSchema>;

export const POSIXRlimitSchema = Type.Object({ type: Str(), hard: uint64(), soft: uint64() });
export type POSIXRlimit = Static<typeof POSIXRlimitSchema>;

/** process.scheduler (1.2.0). */
export const SchedulerSchema = Type.Object({
  policy: OneOf([
    'SCHED_OTHER',
    'SCHED_FIFO',
    'SCHED_RR',
    'SCHED_BATCH',
    'SCHED_ISO',
    'SCHED_IDLE',
    'SCHED_DEADLINE',
  ]),
  nice: Opt(int32()),
  priority: Opt(int32()),
  flags: Opt(
    Type.Array(
      OneOf([
        'SCHED_FLAG_RESET_ON_FORK',
        'SCHED_FLAG_RECLAIM',
        'SCHED_FLAG_DL_OVERRUN',
        'SCHED_FLAG_KEEP_POLICY',
        'SCHED_FLAG_KEEP_PARAMS',
        'SCHED_FLAG_UTIL_CLAMP_MIN',
        'SCHED_FLAG_UTIL_CLAMP_MAX',
      ]),
    ),
  ),
  runtime: Opt(uint64()),
  deadline: Opt(uint64()),
  period: Opt(uint64()),
});
export type Scheduler = Static<typeof SchedulerSchema>;

/** process.ioPriority (1.2.0). */
export const IOPrioritySchema = Type.Object({
  class: OneOf(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']),
  priority: int32(),
});
export type IOPriority = Static<typeof IOPrioritySchema>;

/** process.execCPUAffinity (1.2.0): cpu lists like "0-3,7". */
export const ExecCPUAffinitySchema = Type.Object({ initial: Opt(Str()), final: Opt(Str()) });
export type ExecCPUAffinity = Static<typeof ExecCPUAffinitySchema>;

export const ProcessSchema = Type.Object({
  terminal: Opt(Type.Boolean()),
  consoleSize: Opt(ConsoleSizeSchema),
  user: UserSchema,
  args: Opt(StrList()),
  /** Windows only; accepted and ignored. */
  commandLine: Opt(Str()),
  env: Opt(StrList()),
  cwd: Str(),
  capabilities: Opt(LinuxCapabilitiesSchema),
  rlimits: Opt(Type.Array(POSIXRlimitSchema)),
  noNewPrivileges: Opt(Type.Boolean()),
  apparmorProfile: Opt(Str()),
  oomScoreAdj: Opt(int32()),
  scheduler: Opt(SchedulerSchema),
  selinuxLabel: Opt(Str()),
  ioPriority: Opt(IOPrioritySchema),
  execCPUAffinity: Opt(ExecCPUAffinitySchema),
});
export type Process = Static<typeof ProcessSchema>;

// ---------------------------------------------------------------------------------------------
// root, mounts, hooks
// ---------------------------------------------------------------------------------------------

export const RootSchema = Type.Object({ path: Str(), readonly: Opt(Type.Boolean()) });
export type Root = Static<typeof RootSchema>;

export const LinuxIDMappingSchema = Type.Object({ containerID: uint32(), hostID: uint32(), size: uint32() });
export type LinuxIDMapping = Static<typeof LinuxIDMappingSchema>;

export const MountSchema = Type.Object({
  destination: Str(),
  type: Opt(Str()),
  source: Opt(Str()),
  options: Opt(StrList()),
  /** idmapped mounts (1.1.0) */
  uidMappings: Opt(Type.Array(LinuxIDMappingSchema)),
  gidMappings: Opt(Type.Array(LinuxIDMappingSchema)),
});
export type Mount = Static<typeof MountSchema>;

export const HookSchema = Type.Object({
  path: Str(),
  args: Opt(StrList()),
  env: Opt(StrList()),
  /** seconds; the spec says it MUST be greater than zero */
  timeout: Opt(Type.Integer({ minimum: 1, maximum: 0x7fffffff, ociType: 'int' })),
});
export type Hook = Static<typeof HookSchema>;

export const HooksSchema = Type.Object({
  /** deprecated in 1.0.2 in favour of createRuntime, createContainer and startContainer */
  prestart: Opt(Type.Array(HookSchema)),
  createRuntime: Opt(Type.Array(HookSchema)),
  createContainer: Opt(Type.Array(HookSchema)),
  startContainer: Opt(Type.Array(HookSchema)),
  poststart: Opt(Type.Array(HookSchema)),
  poststop: Opt(Type.Array(HookSchema)),
});
export type Hooks = Static<typeof HooksSchema>;

// ---------------------------------------------------------------------------------------------
// linux
// ---------------------------------------------------------------------------------------------

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type LinuxNamespaceType = (typeof NAMESPACE_TYPES)[number];

export const LinuxNamespaceSchema = Type.Object({ type: OneOf(NAMESPACE_TYPES), path: Opt(Str()) });
export type LinuxNamespace = Static<typeof LinuxNamespaceSchema>;

export const LinuxDeviceSchema = Type.Object({
  /** c and u are both character devices; p is a FIFO */
  type: OneOf(['c', 'b', 'u', 'p']),
  path: Str(),
  major: Opt(int64()),
  minor: Opt(int64()),
  fileMode: Opt(uint32()),
  uid: Opt(uint32()),
  gid: Opt(uint32()),
});
export type LinuxDevice = Static<typeof LinuxDeviceSchema>;

/** An entry of linux.resources.devices: a device cgroup allow/deny rule. */
export const LinuxDeviceCgroupSchema = Type.Object({
  allow: Type.Boolean(),
  /** a (all), c (char) or b (block); absent means all */
  type: Opt(OneOf(['a', 'c', 'b'])),
  major: Opt(int64()),
  minor: Opt(int64()),
  /** a composition of r (read), w (write) and m (mknod) */
  access: Opt(Str()),
});
export type LinuxDeviceCgroup = Static<typeof LinuxDeviceCgroupSchema>;

export const LinuxMemorySchema = Type.Object({
  limit: Opt(int64()),
  reservation: Opt(int64()),
  swap: Opt(int64()),
  /** deprecated in 1.1.0; the kernel no longer has kmem limits */
  kernel: Opt(int64()),
  kernelTCP: Opt(int64()),
  swappiness: Opt(uint64()),
  disableOOMKiller: Opt(Type.Boolean()),
  useHierarchy: Opt(Type.Boolean()),
  checkBeforeUpdate: Opt(Type.Boolean()),
});
export type LinuxMemory = Static<typeof LinuxMemorySchema>;

export const LinuxCPUSchema = Type.Object({
  shares: Opt(uint64()),
  quota: Opt(int64()),
  burst: Opt(uint64()),
  period: Opt(uint64()),
  realtimeRuntime: Opt(int64()),
  realtimePeriod: Opt(uint64()),
  cpus: Opt(Str()),
  mems: Opt(Str()),
  idle: Opt(int64()),
});
export type LinuxCPU = Static<typeof LinuxCPUSchema>;

export const LinuxPidsSchema = Type.Object({ limit: int64() });
export type LinuxPids = Static<typeof LinuxPidsSchema>;

export const LinuxWeightDeviceSchema = Type.Object({
  major: int64(),
  minor: int64(),
  weight: Opt(uint16()),
  leafWeight: Opt(uint16()),
});
export type LinuxWeightDevice = Static<typeof LinuxWeightDeviceSchema>;

export const LinuxThrottleDeviceSchema = Type.Object({ major: int64(), minor: int64(), rate: uint64() });
export type LinuxThrottleDevice = Static<typeof LinuxThrottleDeviceSchema>;

export const LinuxBlockIOSchema = Type.Object({
  weight: Opt(uint16()),
  leafWeight: Opt(uint16()),
  weightDevice: Opt(Type.Array(LinuxWeightDeviceSchema)),
  throttleReadBpsDevice: Opt(Type.Array(LinuxThrottleDeviceSchema)),
  throttleWriteBpsDevice: Opt(Type.Array(LinuxThrottleDeviceSchema)),
  throttleReadIOPSDevice: Opt(Type.Array(LinuxThrottleDeviceSchema)),
  throttleWriteIOPSDevice: Opt(Type.Array(LinuxThrottleDeviceSchema)),
});
export type LinuxBlockIO = Static<typeof LinuxBlockIOSchema>;

export const LinuxHugepageLimitSchema = Type.Object({ pageSize: Str(), limit: uint64() });
export type LinuxHugepageLimit = Static<typeof LinuxHugepageLimitSchema>;

export const LinuxNetworkSchema = Type.Object({
  classID: Opt(uint32()),
  priorities: Opt(Type.Array(Type.Object({ name: Str(), priority: uint32() }))),
});
export type LinuxNetwork = Static<typeof LinuxNetworkSchema>;

export const LinuxRdmaSchema = Type.Object({ hcaHandles: Opt(uint32()), hcaObjects: Opt(uint32()) });
export type LinuxRdma = Static<typeof LinuxRdmaSchema>;

export const LinuxResourcesSchema = Type.Object({
  devices: Opt(Type.Array(LinuxDeviceCgroupSchema)),
  memory: Opt(LinuxMemorySchema),
  cpu: Opt(LinuxCPUSchema),
  pids: Opt(LinuxPidsSchema),
  blockIO: Opt(LinuxBlockIOSchema),
  hugepageLimits: Opt(Type.Array(LinuxHugepageLimitSchema)),
  network: Opt(LinuxNetworkSchema),
  rdma: Opt(Type.Record(Type.String(), LinuxRdmaSchema)),
  /** cgroup v2 files and values, e.g. { "memory.high": "1G" } (1.0.2) */
  unified: Opt(StrMap()),
});
export type LinuxResources = Static<typeof LinuxResourcesSchema>;

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

export const LinuxSeccompArgSchema = Type.Object({
  index: uint32(),
  value: uint64(),
  valueTwo: Opt(uint64()),
  op: OneOf([
    'SCMP_CMP_NE',
    'SCMP_CMP_LT',
    'SCMP_CMP_LE',
    'SCMP_CMP_EQ',
    'SCMP_CMP_GE',
    'SCMP_CMP_GT',
    'SCMP_CMP_MASKED_EQ',
  ]),
});
export type LinuxSeccompArg = Static<typeof LinuxSeccompArgSchema>;

export const LinuxSyscallSchema = Type.Object({
  names: StrList(),
  action: OneOf(SECCOMP_ACTIONS),
  errnoRet: Opt(uint32()),
  args: Opt(Type.Array(LinuxSeccompArgSchema)),
});
export type LinuxSyscall = Static<typeof LinuxSyscallSchema>;

/**
 * linux.seccomp. Accepted and typed, not enforced yet. Architectures and flags are libseccomp
 * names (SCMP_ARCH_*, SECCOMP_FILTER_FLAG_*) whose lists grow with libseccomp, so they are strings.
 */
export const LinuxSeccompSchema = Type.Object({
  defaultAction: OneOf(SECCOMP_ACTIONS),
  defaultErrnoRet: Opt(uint32()),
  architectures: Opt(StrList()),
  flags: Opt(StrList()),
  listenerPath: Opt(Str()),
  listenerMetadata: Opt(Str()),
  syscalls: Opt(Type.Array(LinuxSyscallSchema)),
});
export type LinuxSeccomp = Static<typeof LinuxSeccompSchema>;

export const LinuxIntelRdtSchema = Type.Object({
  closID: Opt(Str()),
  l3CacheSchema: Opt(Str()),
  memBwSchema: Opt(Str()),
  enableCMT: Opt(Type.Boolean()),
  enableMBM: Opt(Type.Boolean()),
});
export type LinuxIntelRdt = Static<typeof LinuxIntelRdtSchema>;

export const LinuxPersonalitySchema = Type.Object({
  domain: OneOf(['LINUX', 'LINUX32']),
  flags: Opt(StrList()),
});
export type LinuxPersonality = Static<typeof LinuxPersonalitySchema>;

/** linux.timeOffsets (1.1.0): keys are "monotonic" and "boottime". */
export const LinuxTimeOffsetSchema = Type.Object({ secs: Opt(int64()), nanosecs: Opt(uint32()) });
export type LinuxTimeOffset = Static<typeof LinuxTimeOffsetSchema>;

/** linux.netDevices (1.2.0): host interface name → its name in the container. */
export const LinuxNetDeviceSchema = Type.Object({ name: Opt(Str()) });
export type LinuxNetDevice = Static<typeof LinuxNetDeviceSchema>;

export const ROOTFS_PROPAGATIONS = [
  'private',
  'rprivate',
  'slave',
  'rslave',
  'shared',
  'rshared',
  'unbindable',
  'runbindable',
] as const;

export const LinuxSchema = Type.Object({
  namespaces: Opt(Type.Array(LinuxNamespaceSchema)),
  uidMappings: Opt(Type.Array(LinuxIDMappingSchema)),
  gidMappings: Opt(Type.Array(LinuxIDMappingSchema)),
  timeOffsets: Opt(Type.Record(Type.String(), LinuxTimeOffsetSchema)),
  devices: Opt(Type.Array(LinuxDeviceSchema)),
  netDevices: Opt(Type.Record(Type.String(), LinuxNetDeviceSchema)),
  cgroupsPath: Opt(Str()),
  resources: Opt(LinuxResourcesSchema),
  rootfsPropagation: Opt(OneOf(ROOTFS_PROPAGATIONS)),
  seccomp: Opt(LinuxSeccompSchema),
  sysctl: Opt(StrMap()),
  maskedPaths: Opt(StrList()),
  readonlyPaths: Opt(StrList()),
  mountLabel: Opt(Str()),
  intelRdt: Opt(LinuxIntelRdtSchema),
  personality: Opt(LinuxPersonalitySchema),
});
export type Linux = Static<typeof LinuxSchema>;

// ---------------------------------------------------------------------------------------------
// the config
// ---------------------------------------------------------------------------------------------

export const SpecSchema = Type.Object({
  ociVersion: Str(),
  /** optional in the spec (a config may only describe the filesystem); hull's create needs it */
  process: Opt(ProcessSchema),
  /** optional in the spec only on Windows (Hyper-V); REQUIRED on Linux */
  root: RootSchema,
  hostname: Opt(Str()),
  domainname: Opt(Str()),
  mounts: Opt(Type.Array(MountSchema)),
  hooks: Opt(HooksSchema),
  annotations: Opt(StrMap()),
  linux: Opt(LinuxSchema),
});
export type Spec = Static<typeof SpecSchema>;
