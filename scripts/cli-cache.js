'use strict';
// Writes dist/hull-cli.cache: V8's code cache for the bundled CLI with every function compiled,
// so that no command compiles hull's code at start-up (lib/cli/boot.ts says why and how it is
// checked). Run at build time and again by the install hook, for the Node that will run it.
// Usage: node scripts/cli-cache.js [BUNDLE [CACHE]]
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const dist = path.join(__dirname, '..', 'dist');
const bundle = process.argv[2] ?? path.join(dist, 'hull-cli.js');
const out = process.argv[3] ?? path.join(dist, 'hull-cli.cache');
const { buildIdOf, cacheHeader, wrapSource } = require(path.join(dist, 'cli', 'boot.js'));

const source = fs.readFileSync(bundle, 'utf8');
const id = buildIdOf(source);
if (!id) {
  console.error(`cli-cache: ${bundle} has no build id`);
  process.exit(1);
}
// Functions are compiled lazily, at first call, and a cache holds only what was compiled:
// compile everything, then restore the default before V8 stamps the cache with the flags' hash,
// so that a default `node` takes it.
v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(wrapSource(source), { filename: bundle });
v8.setFlagsFromString('--lazy');
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, Buffer.concat([cacheHeader(id), script.createCachedData()]));
fs.renameSync(tmp, out);
