/**
 * `hull sandbox -- CMD`: runs a command isolated with no bundle to write. The rootfs is an empty
 * directory on which the host's /bin, /etc, /lib, /lib32, /lib64, /sbin and /usr are bind-mounted
 * read-only (Nomad's chroot_env, made without copying), with a private tmpfs /tmp and a task
 * directory of its own at /task.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container } from '../../container/container';
import { DEFAULT_ROOT } from '../../container/state-store';
import { HullError } from '../../errors';
import { hostRootSpec } from '../../executor/host-spec';
import type { Spec } from '../../oci/schema';
import { list, parseArgs, str } from '../args';
import type { Globals } from '../main';
import { runForeground } from './run';

export { HOST_DIRS } from '../../executor/host-spec';

function parseUser(v: string | undefined): { uid: number; gid: number } {
  if (v === undefined) return { uid: 0, gid: 0 };
  const m = /^(\d+)(?::(\d+))?$/.exec(v);
  if (!m) throw new HullError(`--user: expected UID[:GID], got \`${v}\``, { code: 'EINVALIDARG', field: 'user' });
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/** The sandbox's OCI config: the default spec with the host's directories instead of a rootfs. */
export function sandboxSpec(args: string[], id: string, taskDir: string, opts: { uid: number; gid: number; hostNet: boolean; env: string[] }): Spec {
  const spec = hostRootSpec({
    args,
    hostname: id,
    taskDir,
    uid: opts.uid,
    gid: opts.gid,
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/task', ...opts.env],
  });
  if (opts.hostNet) spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
  return spec;
}

export async function sandboxCmd(argv: string[], g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['name', 'user', 'net', 'env'], booleans: ['keep-task-dir'], aliases: { u: 'user', e: 'env' }, repeat: ['env'] }, true);
  if (p.positionals.length === 0) throw new HullError('sandbox: give the command to run after --', { code: 'EINVALIDARG' });
  const net = str(p, 'net') ?? 'none';
  if (net !== 'none' && net !== 'host') throw new HullError(`--net: expected none or host, got \`${net}\``, { code: 'EINVALIDARG' });
  const id = str(p, 'name') ?? `sandbox-${crypto.randomBytes(4).toString('hex')}`;
  const root = g.root ?? DEFAULT_ROOT;
  const bundle = path.join(root, '.sandbox', id);
  if (fs.existsSync(bundle)) throw new HullError(`container \`${id}\` already exists`, { code: 'EEXISTS', path: bundle });
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true, mode: 0o711 });
  const taskDir = path.join(bundle, 'task');
  try {
    const user = parseUser(str(p, 'user'));
    fs.mkdirSync(taskDir, { mode: 0o755 });
    fs.chownSync(taskDir, user.uid, user.gid);
    const spec = sandboxSpec(p.positionals, id, taskDir, { ...user, hostNet: net === 'host', env: list(p, 'env') });
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    return await runForeground(await Container.create({ id, bundle, root }));
  } finally {
    fs.rmSync(bundle, { recursive: true, force: true });
  }
}
