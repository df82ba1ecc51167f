'use strict';
/** results/<part>.json (every sample), results/<part>.md (the table), and bench/README.md. */
const fs = require('node:fs');
const path = require('node:path');

const BENCH = path.resolve(__dirname, '..');
const RESULTS = path.join(BENCH, 'results');

function fmt(x, unit) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return unit ? `0 ${unit}` : '0';
  const a = Math.abs(x);
  let s;
  if (a >= 1000) s = Math.round(x).toLocaleString('en-US');
  else if (a >= 100) s = x.toFixed(0);
  else if (a >= 10) s = x.toFixed(1);
  else if (a >= 1) s = x.toFixed(2);
  else s = x.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

function ratioText(x) {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? `${Math.round(x).toLocaleString('en-US')}×` : `${x.toFixed(2)}×`;
}

function targetText(t) {
  const limit = t.unit === '×' ? ratioText(t.limit) : fmt(t.limit, t.unit);
  const value = t.unit === '×' ? ratioText(t.value) : fmt(t.value, t.unit);
  if (t.status === 'not measured') return `${t.label}: **not measured**${t.detail ? ` (${t.detail})` : ''}`;
  const op = t.kind === 'max' ? '≤' : '≥';
  return `${t.label}: ${value} (${op} ${limit}) — **${t.status}**, ${t.by}`;
}

function esc(s) {
  return String(s).replace(/\|/g, '\\|');
}

/** The standard table: one row per contestant and metric, with the paired ratio and any target. */
function table(res) {
  const ref = res.ref;
  const hasMetric = res.rows.some((r) => r.metric !== 'time');
  const head = ['contestant', ...(hasMetric ? ['metric'] : []), 'runs', 'min', 'median', 'p95', 'max', ...(ref ? [`vs ${ref.label} (paired)`] : []), 'target'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of res.rows) {
    const ts = res.targets.filter((t) => t.row === r.contestant && (t.metric === null || t.metric === r.metric));
    const cells = [
      esc(r.contestant),
      ...(hasMetric ? [esc(r.metric)] : []),
      String(r.n),
      fmt(r.min, r.unit),
      `**${fmt(r.median, r.unit)}**`,
      fmt(r.p95, r.unit),
      fmt(r.max, r.unit),
      ...(ref ? [r.ratio ? `${ratioText(r.ratio.median)} [${ratioText(r.ratio.q1)}–${ratioText(r.ratio.q3)}]` : '–'] : []),
      ts.length ? ts.map(targetText).join('<br>') : '–',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function renderPart(res) {
  const out = [];
  out.push(`### ${res.part}${res.quick ? ' (quick run: few samples, noisy)' : ''}`);
  out.push('');
  out.push(res.description);
  out.push('');
  const when = `${res.date}, load average ${res.load.before.join(' ')} before, ${res.load.after.join(' ')} after`;
  const runs = res.iterations !== undefined ? `; ${res.iterations} interleaved iterations in ${res.seconds.toFixed(0)} s (${res.settled ? 'medians settled' : 'stopped at the run limit'}; seed ${res.seed})` : '';
  out.push(`_${when}${runs}._`);
  out.push('');
  if (res.skipped && res.skipped.length) {
    for (const s of res.skipped) out.push(`> **Skipped:** ${s}`);
    out.push('');
  }
  if (res.customTable) out.push(res.customTable);
  else if (res.rows.length) out.push(table(res));
  out.push('');
  if (res.ratios && res.ratios.length) {
    out.push('Paired, per iteration (median [IQR]):');
    out.push('');
    for (const r of res.ratios) out.push(`- ${r.label}: ${r.unit === '×' || !r.unit ? `${ratioText(r.median)} [${ratioText(r.q1)}–${ratioText(r.q3)}]` : `${fmt(r.median, r.unit)} [${fmt(r.q1, r.unit)}–${fmt(r.q3, r.unit)}]`}`);
    out.push('');
  }
  if (res.targets.length) {
    out.push('Targets:');
    out.push('');
    for (const t of res.targets) out.push(`- ${t.row}${t.metric ? ` (${t.metric})` : ''} — ${targetText(t)}`);
    out.push('');
  }
  const errs = Object.entries(res.errors || {}).filter(([, e]) => e.length);
  if (errs.length) {
    out.push('Errors during the run:');
    out.push('');
    for (const [name, e] of errs) out.push(`- ${name}: ${e.length} failed run(s); first: \`${esc(e[0]).slice(0, 300)}\``);
    out.push('');
  }
  if (res.notes && res.notes.length) {
    out.push('Notes:');
    out.push('');
    for (const n of res.notes) out.push(`- ${n}`);
    out.push('');
  }
  if (fs.existsSync(path.join(RESULTS, `${res.part}.svg`))) {
    out.push(`![${res.part}](results/${res.part}.svg)`);
    out.push('');
  }
  return out.join('\n');
}

function writePart(res) {
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${res.part}.json`), `${JSON.stringify(res, null, 1)}\n`);
  fs.writeFileSync(path.join(RESULTS, `${res.part}.md`), `${renderPart(res)}\n`);
}

function readParts(order) {
  const out = [];
  for (const name of order) {
    const f = path.join(RESULTS, `${name}.json`);
    if (fs.existsSync(f)) out.push(JSON.parse(fs.readFileSync(f, 'utf8')));
  }
  return out;
}

function machineTable(m) {
  const rows = [
    ['CPU', `${m.nproc} × ${m.cpu}`],
    ['memory', m.memory],
    ['kernel', `${m.kernel}${m.os ? ` (${m.os})` : ''}`],
    ['cgroups', m.cgroups],
    ['node', m.node],
    ['runc', m.runc],
    ['crun', m.crun],
    ['busybox', m.busybox],
    ['hyperfine', m.hyperfine],
    ['hull', m.hull],
  ];
  return ['| item | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${esc(v)} |`)].join('\n');
}

function readme(order, intro) {
  const parts = readParts(order);
  const out = [];
  out.push('# hull benchmarks');
  out.push('');
  out.push(intro.trim());
  out.push('');
  if (!parts.length) {
    out.push('_No results yet: run `npm run bench`._');
    return `${out.join('\n')}\n`;
  }
  const latest = parts.reduce((a, b) => (a.date > b.date ? a : b));
  const quick = parts.filter((p) => p.quick).map((p) => p.part);
  out.push('## Latest results');
  out.push('');
  if (quick.length) {
    out.push(
      `> **${quick.length === parts.length ? 'All results below are' : `These parts are`} from quick runs${quick.length === parts.length ? '' : ` (${quick.join(', ')})`}: few samples on a shared, loaded machine — noisy, indicative only.** The full run is pending a quiet machine (1-minute load below 0.8).`,
    );
    out.push('');
  }
  out.push(`Machine (from the run of ${latest.date}):`);
  out.push('');
  out.push(machineTable(latest.machine));
  out.push('');
  out.push(
    `Node-based contestants run with \`NODE_EXTRA_CA_CERTS\` unset (the host sets it; it adds ~47 ms to every Node start); the bench runs at nice ${latest.nice ?? 0}. ` +
      'The machine is shared with other sessions\' builds and tests: each part states the load average before and after it (much of it the part\'s own), and only ratios taken in the same run are compared.',
  );
  out.push('');
  // the targets at a glance
  const targets = parts.flatMap((p) => p.targets.map((t) => ({ ...t, quick: p.quick })));
  if (targets.length) {
    out.push('### Targets');
    out.push('');
    out.push('| part | row | target | measured | verdict |');
    out.push('|---|---|---|---|---|');
    for (const t of targets) {
      const op = t.kind === 'max' ? '≤' : '≥';
      const limit = t.unit === '×' ? ratioText(t.limit) : fmt(t.limit, t.unit);
      const value = t.unit === '×' ? ratioText(t.value) : fmt(t.value, t.unit);
      const verdict = t.status === 'not measured' ? `not measured${t.detail ? `: ${t.detail}` : ''}` : `**${t.status}**, ${t.by}`;
      out.push(`| ${t.part}${t.quick ? ' (quick)' : ''} | ${esc(t.row)}${t.metric ? ` (${t.metric})` : ''} | ${esc(t.label)} (${op} ${limit}) | ${value} | ${verdict} |`);
    }
    out.push('');
  }
  // the analysis of the misses is written by hand: it is not regenerated with the numbers
  const bounds = path.join(BENCH, 'bounds.md');
  if (fs.existsSync(bounds)) out.push(fs.readFileSync(bounds, 'utf8').trim(), '');
  for (const p of parts) {
    out.push(renderPart(p).replace(/^### /, '### '));
  }
  return `${out.join('\n')}\n`;
}

module.exports = { writePart, readParts, renderPart, readme, fmt, ratioText, RESULTS, BENCH };
