import { HullError } from '../errors';

/** One line of /proc/<pid>/cgroup: `hierarchy-ID:controller-list:cgroup-path`. */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** `['cpu', 'cpuacct']`, `['name=systemd']`, or `[]` for the cgroup v2 line `0::/…` */
  controllers: string[];
  path: string;
}

/**
 * Parses /proc/<pid>/cgroup (cgroups(7)). The path is everything after the second colon, since cgroup
 * names may themselves contain colons.
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line) out.push(parseProcCgroupLine(line));
  }
  return out;
}

function parseProcCgroupLine(line: string): ProcCgroupEntry {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0) {
    throw new HullError(`invalid cgroup entry \`${line}\`: must contain at least two colons`, { code: 'EINVAL' });
  }
  const list = line.slice(first + 1, second);
  return {
    hierarchyId: Number(line.slice(0, first)),
    controllers: list ? list.split(',').filter(Boolean) : [],
    path: line.slice(second + 1),
  };
}

/** One line of /proc/<pid>/mountinfo (proc(5)). */
export interface MountinfoEntry {
  mountId: number;
  parentId: number;
  majorMinor: string;
  /** the directory of the filesystem that forms this mount's root: for a cgroup mount, a cgroup path */
  root: string;
  mountpoint: string;
  mountOptions: string;
  optionalFields: string[];
  fstype: string;
  source: string;
  /** per-superblock options; for cgroup v1 these name the controllers, e.g. `rw,memory` or `rw,name=systemd` */
  superOptions: string;
}

export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line) out.push(parseMountinfoLine(line));
  }
  return out;
}

function parseMountinfoLine(line: string): MountinfoEntry {
  const fields = line.split(' ');
  // optional fields (shared:N, master:N, ...) run until a lone "-"
  const dash = fields.indexOf('-', 6);
  if (fields.length < 10 || dash < 0 || fields.length < dash + 4) {
    throw new HullError(`invalid mountinfo entry \`${line}\``, { code: 'EINVAL' });
  }
  const f = (i: number): string => fields[i] ?? '';
  return {
    mountId: Number(f(0)),
    parentId: Number(f(1)),
    majorMinor: f(2),
    root: unescapeMountField(f(3)),
    mountpoint: unescapeMountField(f(4)),
    mountOptions: f(5),
    optionalFields: fields.slice(6, dash),
    fstype: f(dash + 1),
    source: unescapeMountField(f(dash + 2)),
    superOptions: f(dash + 3),
  };
}

/** The kernel escapes space, tab, newline and backslash in mountinfo as `\040`, `\011`, `\012`, `\134`. */
export function unescapeMountField(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
