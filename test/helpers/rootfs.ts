/**
 * OCI bundles for the integration suites: a busybox rootfs in a fresh directory under the tmpdir,
 * with a config that starts from `defaultSpec()`. Nothing here mounts anything or touches /run/hull.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Spec } from '../../lib/oci/schema';
import { defaultSpec } from '../../lib/oci/spec';

export const BUSYBOX = '/bin/busybox';

/** The applets a test may call; each is a symlink to `busybox` next to it in /bin. */
export const APPLETS = [
  'sh', 'id', 'hostname', 'cat', 'ls', 'grep', 'sleep', 'true', 'false', 'echo', 'mount', 'umount', 'ps', 'kill',
  'touch', 'stat', 'env', 'pwd', 'printf', 'test', '[', 'wc', 'head', 'tail', 'sort', 'cut', 'tr', 'sed', 'awk',
  'mkdir', 'rm', 'readlink', 'whoami', 'uname', 'dd', 'tee', 'mountpoint', 'nproc',
];

/** `hull-test-<pid>-<rand>`: unique per call, and findable by the leak scan for `*hull*`/`*test*` cgroups. */
export function uniqueId(prefix = ''): string {
  const rand = randomBytes(4).toString('hex');
  return `hull-test-${process.pid}-${prefix ? `${prefix}-` : ''}${rand}`;
}

export interface TempDir {
  dir: string;
  cleanup(): void;
}

/** A fresh directory under os.tmpdir(), `hull-test-<pid>-` prefixed like the ids. */
export function tempDir(tag = ''): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hull-test-${process.pid}-${tag ? `${tag}-` : ''}`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A state root for `--root` / `Container.create({root})`: never /run/hull. */
export function stateRoot(): TempDir {
  return tempDir('root');
}

export interface BundleOptions {
  /** process.args; default ['sh'] */
  args?: string[];
  /** default 'hull-test' */
  hostname?: string;
  /** edits the config before it is first written */
  edit?: (config: Spec) => void;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  /** the config as last written (edit it and call write() again) */
  config: Spec;
  /** writes config.json; by default the bundle's own config */
  write(config?: Spec): void;
  cleanup(): void;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/** Builds a rootfs: a COPY of busybox (the tmpdir may be another filesystem, so no links to the host's), applet links, /etc, mount points. */
export function makeRootfs(rootfs: string): void {
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'root', 'mnt']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  const bin = path.join(rootfs, 'bin');
  fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(bin, a));
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), PASSWD);
  fs.writeFileSync(path.join(rootfs, 'etc/group'), GROUP);
}

/** The default spec for a busybox bundle: no terminal, PATH that holds /bin. */
export function bundleSpec(opts: BundleOptions = {}): Spec {
  const spec = defaultSpec({ args: opts.args ?? ['sh'], terminal: false, hostname: opts.hostname ?? 'hull-test' });
  opts.edit?.(spec);
  return spec;
}

/** A bundle directory `hull-test-<pid>-bundle-XXXXXX` under the tmpdir, with rootfs/ and config.json. */
export function makeBundle(opts: BundleOptions = {}): Bundle {
  const { dir, cleanup } = tempDir('bundle');
  const rootfs = path.join(dir, 'rootfs');
  try {
    makeRootfs(rootfs);
  } catch (e) {
    cleanup();
    throw e;
  }
  const bundle: Bundle = {
    dir,
    rootfs,
    config: bundleSpec(opts),
    write(config?: Spec) {
      if (config) bundle.config = config;
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(bundle.config, null, 2));
    },
    cleanup,
  };
  bundle.write();
  return bundle;
}

/** Links more busybox applets into a bundle's /bin (`tty` and `stty` for the terminal suites). */
export function addApplets(bundle: Bundle, applets: string[]): void {
  for (const applet of applets) fs.symlinkSync('busybox', path.join(bundle.rootfs, 'bin', applet));
}
