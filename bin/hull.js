#!/usr/bin/env node
'use strict';
// The CLI is one bundled file, loaded with V8's code cache: see lib/cli/boot.ts.
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const { loadBundle } = require(path.join(dist, 'cli', 'boot.js'));
loadBundle(path.join(dist, 'hull-cli.js'), path.join(dist, 'hull-cli.cache'))
  .exports.main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
    // Every command has finished its work, cleanup included, when main resolves: exiting here
    // skips Node's teardown of the heap (about 5 ms a command). Output still queued, as on a
    // full pipe, is left to drain the normal way.
    if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
  });
