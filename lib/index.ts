/** hull's public API. */
export { Container, runContainer, type ContainerExit, type ContainerOptions } from './container/container';
export { create, type CreateOptions } from './container/create';
export { remove } from './container/delete';
export { kill } from './container/kill';
export { defaultRuntime, type Runtime } from './container/runtime';
export { start } from './container/start';
export { state, type OciState } from './container/state';
export { DEFAULT_ROOT } from './container/state-store';
export type { ContainerStatus } from './container/status';
export { HullError, type HullErrorCode } from './errors';
export * from './oci';
export { createCgroupManager, type CgroupManager } from './cgroup';
export * from './executor';
