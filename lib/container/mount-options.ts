import { HullError } from '../errors';
import { MS } from './constants';

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string[];
  bind: boolean;
}

/** option → [flags to set, flags to clear] */
const FLAG_OPTIONS: Record<string, [number, number]> = {
  defaults: [0, 0],
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  noatime: [MS.NOATIME, 0],
  atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0],
  diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  silent: [MS.SILENT, 0],
  loud: [0, MS.SILENT],
  iversion: [MS.I_VERSION, 0],
  noiversion: [0, MS.I_VERSION],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options of other runtimes that hull does not implement: refused rather than silently dropped. */
const UNSUPPORTED = new Set(['tmpcopyup', 'idmap', 'ridmap', 'rro', 'rrw', 'copy-symlink', 'src-nofollow']);

export function propagationFlags(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}

/** OCI mount options → MS_* flags, propagation and fs-specific data, as runc parses them. */
export function parseMountOptions(options: readonly string[], field: string): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, propagation: 0, data: [], bind: false };
  options.forEach((opt, i) => {
    if (UNSUPPORTED.has(opt)) {
      throw new HullError(`invalid config: ${field}[${i}]: mount option "${opt}" is not supported by hull`, {
        code: 'EUNSUPPORTED',
        field: `${field}[${i}]`,
      });
    }
    const flag = FLAG_OPTIONS[opt];
    const prop = PROPAGATION_OPTIONS[opt];
    if (flag) {
      out.flags = (out.flags | flag[0]) & ~flag[1];
    } else if (prop !== undefined) {
      out.propagation = prop;
    } else {
      out.data.push(opt);
    }
  });
  out.bind = (out.flags & MS.BIND) !== 0;
  return out;
}
