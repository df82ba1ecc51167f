/** hull's task executor: Nomad's executor for Node (docs/executor-protocol.md). */
export { cleanupDeadExecutorTask, launchExecutor, reattachExecutor, startExecutor } from './client';
export { EXEC_COMMAND_FIELDS, resolveUser, validateExecCommand } from './command';
export { hostRootSpec, HOST_DIRS } from './host-spec';
export { PROTOCOL_VERSION } from './protocol';
export type {
  ExecCapabilities,
  ExecCommand,
  ExecDevice,
  ExecExit,
  ExecUser,
  ExecUserIds,
  Executor,
  ExecutorOptions,
  ExecutorVersion,
  Isolation,
  LaunchResult,
  LogRotation,
  NamespaceMode,
  ReattachConfig,
  ShutdownOptions,
  TaskResourceUsage,
} from './types';
