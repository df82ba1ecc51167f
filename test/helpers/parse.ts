/**
 * Parsers for what the suites read from a process or print from inside a container: the fields
 * of /proc/<pid>/status and the lines of mountinfo. No I/O here: callers pass the text.
 */

/** runc's default capability set (and hull's), as /proc/<pid>/status prints it. */
export const DEFAULT_CAP_HEX = '00000000a80405fb';
/** An empty capability set, as /proc/<pid>/status prints it. */
export const NO_CAPS = '0000000000000000';

/** `Key:\tvalue` lines of /proc/<pid>/status. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

/** One line of mountinfo (proc(5)); fields the suites do not compare are left out. */
export interface MountLine {
  /** field 4: the mount's root within its filesystem */
  root: string;
  /** field 5: the mount point */
  point: string;
  /** field 6: the per-mount options (`ro,nosuid,...`) */
  options: string;
  /** the optional fields (`shared:N`, `master:N`) */
  optional: string[];
  fstype: string;
  source: string;
}

export function parseMountinfo(text: string): MountLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pre = '', post = ''] = line.split(' - ');
      const f = pre.split(' ');
      const [fstype = '', source = ''] = post.split(' ');
      return { root: f[3] ?? '', point: f[4] ?? '', options: f[5] ?? '', optional: f.slice(6), fstype, source };
    });
}

/** The mount points of a mountinfo text, in its order. */
export function mountPoints(mountinfo: string): string[] {
  return parseMountinfo(mountinfo).map((m) => m.point);
}
