import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from '../../errors';
import { defaultSpec } from '../../oci/spec';
import { CAPABILITIES } from '../../oci/capabilities';
import { parseArgs, str } from '../args';
import type { Globals } from '../main';

/** `hull spec`: writes runc's default config, with hull's default capability set. */
export async function spec(argv: string[], _g: Globals): Promise<number> {
  const p = parseArgs(argv, { values: ['bundle', 'rootless'], booleans: [], aliases: { b: 'bundle' } });
  const file = path.join(str(p, 'bundle') ?? '.', 'config.json');
  if (fs.existsSync(file)) throw new HullError(`file \`${file}\` exists: remove it first`, { code: 'EEXISTS', path: file });
  fs.writeFileSync(file, `${JSON.stringify(defaultSpec(), null, '\t')}\n`);
  return 0;
}

/** `hull features`: what this runtime supports, in runc's JSON shape (containerd 1.7+ asks). */
export async function featuresCmd(_argv: string[], _g: Globals): Promise<number> {
  const features = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: [],
    mountOptions: ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'bind', 'rbind', 'private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable', 'relatime', 'norelatime', 'strictatime', 'noatime', 'nodiratime'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
  };
  process.stdout.write(`${JSON.stringify(features, null, 2)}\n`);
  return 0;
}
