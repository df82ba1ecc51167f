'use strict';
// Install hook: use a prebuilt addon when one loads, otherwise build from source with cmake-js.
// `npm install --build-from-source` skips the probe. Either way, the CLI's code cache is made
// again for this Node: V8 refuses a cache made by another version (lib/cli/boot.ts).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** A cache that cannot be made costs start-up time, not the install. */
function refreshCliCache() {
  if (!fs.existsSync(path.join(root, 'dist', 'hull-cli.js'))) return;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'cli-cache.js')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.error('hull: could not make the CLI code cache; the CLI will compile as it goes');
}

function addon() {
  if (process.env.npm_config_build_from_source !== 'true') {
    try {
      require('node-gyp-build')(root);
      return 0;
    } catch {
      // no usable prebuild: fall through to a source build
    }
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level=warn'], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

const status = addon();
if (status === 0) refreshCliCache();
process.exit(status);
