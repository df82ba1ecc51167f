#!/usr/bin/env node
'use strict';
/**
 * The heaviest functions of a V8 .cpuprofile (node --cpu-prof), self and inclusive, and
 * optionally the call tree below the functions whose name matches a string.
 *
 *   node bench/tools/cpuprof-top.js FILE.cpuprofile [N] [--tree 'server.js:421'] [--depth 6]
 */
const fs = require('node:fs');

const [file, nArg] = process.argv.slice(2);
const N = Number(nArg) > 0 ? Number(nArg) : 25;
const opt = (k, d) => (process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : d);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const selfT = new Map();
p.samples.forEach((id, i) => selfT.set(id, (selfT.get(id) || 0) + (p.timeDeltas[i] || 0)));
const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
const self = new Map();
const incl = new Map();
for (const [id, t] of selfT) {
  self.set(name(byId.get(id)), (self.get(name(byId.get(id))) || 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = name(byId.get(cur));
    if (!seen.has(k)) incl.set(k, (incl.get(k) || 0) + t);
    seen.add(k);
  }
}
const ms = (us) => (us / 1000).toFixed(1).padStart(9);
console.log('--- self (ms)');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(ms(v), k);
console.log('--- inclusive (ms)');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(ms(v), k);
const tree = opt('--tree');
if (tree) {
  const depthMax = Number(opt('--depth', 6));
  const inc = (n) => (selfT.get(n.id) || 0) + (n.children || []).reduce((s, c) => s + inc(byId.get(c)), 0);
  const print = (n, d) => {
    const t = inc(n);
    if (t < 500) return;
    console.log(`${'  '.repeat(d)}${(t / 1000).toFixed(1)} ${name(n)}`);
    if (d < depthMax) for (const c of (n.children || []).map((c) => byId.get(c)).sort((a, b) => inc(b) - inc(a))) print(c, d + 1);
  };
  console.log(`--- tree below ${tree}`);
  for (const n of p.nodes) if (name(n).includes(tree)) print(n, 0);
}
