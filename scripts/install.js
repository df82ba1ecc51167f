'use strict';
// Install hook: use a prebuilt addon when one loads, otherwise build from source with cmake-js.
// `npm install --build-from-source` skips the probe.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
if (process.env.npm_config_build_from_source !== 'true') {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch {
    // no usable prebuild: fall through to a source build
  }
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level=warn'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
