import { HullError } from '../errors';

/** The OCI lifecycle states, plus paused (runc's). */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

function refuse(id: string, verb: string, status: ContainerStatus, why: string): never {
  throw new HullError(`cannot ${verb} container \`${id}\`: ${why}`, { code: 'ESTATE' });
}

export function canStart(id: string, status: ContainerStatus): void {
  if (status !== 'created') refuse(id, 'start', status, `it is ${status}, not created`);
}

export function canKill(id: string, status: ContainerStatus): void {
  // podman matches "container not running" in kill's stderr
  if (status === 'stopped' || status === 'creating') refuse(id, 'kill', status, 'container not running');
}

export function canDelete(id: string, status: ContainerStatus, force: boolean): void {
  if (status !== 'stopped' && !force) refuse(id, 'delete', status, `it is ${status}: stop it first, or use --force`);
}

export function canPause(id: string, status: ContainerStatus): void {
  if (status !== 'running' && status !== 'created') refuse(id, 'pause', status, `it is ${status}, not running`);
}

export function canResume(id: string, status: ContainerStatus): void {
  if (status !== 'paused') refuse(id, 'resume', status, `it is ${status}, not paused`);
}
