/** hull's task executor: Nomad's executor for Node (docs/executor-protocol.md). */
export { cleanupDeadExecutorTask, launchExecutor, reattachExecutor, startExecutor } from './client';
export { EXEC_COMMAND_FIELDS, resolveUser, validateExecCommand } from './command';
export { hostRootSpec, HOST_DIRS } from './host-spec';
export { EXEC_REQUEST_FIELDS, validateExecRequest } from './exec';
export { PROTOCOL_VERSION } from './protocol';
export type {
  ExecCapabilities,
  ExecCommand,
  ExecDevice,
  ExecExit,
  ExecOnceRequest,
  ExecOnceResult,
  ExecRequest,
  ExecResult,
  ExecSession,
  ExecUser,
  ExecUserIds,
  Executor,
  ExecutorDiagnostics,
  ExecutorOptions,
  ExecutorVersion,
  Isolation,
  LaunchResult,
  LogRotation,
  NamespaceMode,
  ReattachConfig,
  ShutdownOptions,
  StatsOptions,
  TaskResourceUsage,
} from './types';
