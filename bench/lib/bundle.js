'use strict';
/**
 * Busybox bundles, as test/helpers/rootfs.ts builds them: a COPY of the static /bin/busybox with
 * applet links, in a fresh rootfs under the bench's tmpdir. Every contestant (hull, runc, crun)
 * runs the same config.json: hull's default spec (runc's, with Nomad's capabilities), read-only
 * root, with ociVersion 1.1.0 because crun 1.8 refuses "1.2.0" ("unknown version specified").
 * root.path is absolute and not a symlink (runc refuses a symlinked rootfs), so every bundle
 * shares the one rootfs.
 */
const fs = require('node:fs');
const path = require('node:path');

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'true', 'false', 'sleep', 'cat', 'dd', 'head', 'echo', 'ls', 'ps', 'yes'];

function makeRootfs(rootfs) {
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  const bin = path.join(rootfs, 'bin');
  fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(bin, a));
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\n');
}

/** Writes <dir>/config.json running `args` on `rootfs`. */
function makeBundle(dist, dir, rootfs, args, edit) {
  const { defaultSpec } = require(path.join(dist, 'oci/spec'));
  const spec = defaultSpec({ args, terminal: false, hostname: 'hull-bench' });
  spec.ociVersion = '1.1.0';
  spec.root = { path: rootfs, readonly: true };
  if (edit) edit(spec);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

module.exports = { makeRootfs, makeBundle, BUSYBOX };
