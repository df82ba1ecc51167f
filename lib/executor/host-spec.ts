/**
 * The OCI config of a task with no image: the default spec on an empty, read-only rootfs, with
 * the host's /bin, /etc, /lib, /lib32, /lib64, /sbin and /usr bind-mounted read-only (Nomad's
 * chroot_env, made without copying), a private tmpfs /tmp and the task directory at /task.
 * Shared by `hull sandbox` and the executor's isolated mode.
 */
import * as fs from 'node:fs';
import type { Mount, Spec } from '../oci/schema';
import { defaultSpec } from '../oci/spec';

export const HOST_DIRS = ['/bin', '/etc', '/lib', '/lib32', '/lib64', '/sbin', '/usr'];

/** Where the task directory appears in the task. */
export const TASK_DIR_IN_TASK = '/task';

export function hostMounts(): Mount[] {
  return HOST_DIRS.filter((d) => fs.existsSync(d)).map((d) => ({
    destination: d,
    type: 'bind',
    // a symlink such as /bin -> usr/bin on merged-/usr hosts is bound as what it points to
    source: fs.realpathSync(d),
    options: ['rbind', 'ro', 'nosuid', 'nodev', 'rprivate'],
  }));
}

export interface HostRootOptions {
  args: string[];
  hostname: string;
  /** host path bound read-write at /task, the working directory */
  taskDir: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** the complete environment: nothing is added */
  env: string[];
}

/** The config; the rootfs is the bundle's empty `rootfs` directory. Callers edit the result freely. */
export function hostRootSpec(opts: HostRootOptions): Spec {
  const spec = defaultSpec({ args: opts.args, terminal: false, hostname: opts.hostname });
  spec.root = { path: 'rootfs', readonly: true };
  const proc = spec.process!;
  proc.user = { uid: opts.uid, gid: opts.gid, ...(opts.additionalGids ? { additionalGids: [...opts.additionalGids] } : {}) };
  proc.cwd = TASK_DIR_IN_TASK;
  proc.env = [...opts.env];
  spec.mounts = [
    ...(spec.mounts ?? []),
    ...hostMounts(),
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    { destination: TASK_DIR_IN_TASK, type: 'bind', source: opts.taskDir, options: ['rbind', 'rw', 'nosuid', 'nodev'] },
  ];
  return spec;
}
