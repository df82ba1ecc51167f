'use strict';
// Writes dist/hull-cli.js: the CLI (dist/cli/main.js and all it requires) in one file, so that a
// `hull` command resolves and reads one module instead of about fifty; then its code cache. The
// file ends with its build id, which the cache must carry to be used (lib/cli/boot.ts).
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const dist = path.join(__dirname, '..', 'dist');
const out = path.join(dist, 'hull-cli.js');

const result = esbuild.buildSync({
  entryPoints: [path.join(dist, 'cli', 'main.js')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
  // node-pty is a native module of its own (and only the executor uses it); TypeBox is loaded
  // only to explain a config that failed the compiled check
  external: ['node-pty', '@sinclair/typebox', '@sinclair/typebox/*'],
});
const code = result.outputFiles[0].text;
// the loader reads an ASCII bundle as latin1, the fast way (lib/cli/boot.ts); esbuild escapes
// strings, not regular expressions, so a literal non-ASCII character there is an error here
const nonAscii = code.split('\n').findIndex((line) => /[^\x00-\x7f]/.test(line));
if (nonAscii >= 0) {
  console.error(`bundle-cli: line ${nonAscii + 1} of the bundle is not ASCII (escape it in the source): ${code.split('\n')[nonAscii].trim()}`);
  process.exit(1);
}
const id = crypto.createHash('sha256').update(code).digest('hex').slice(0, 32);
fs.writeFileSync(out, `${code}\n//# hull-build ${id}\n`);

const r = spawnSync(process.execPath, [path.join(__dirname, 'cli-cache.js'), out], { stdio: 'inherit' });
process.exit(r.status ?? 1);
