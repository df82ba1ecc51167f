'use strict';
/**
 * Interleaving: every iteration runs each contestant once, in a freshly shuffled order, so load
 * that comes and goes on a shared host hits all contestants alike, and per-iteration (paired)
 * ratios can be taken. Runs continue until every contestant's median has settled.
 */
const { loadavg } = require('./env');
const { paired, rng, shuffle, summarize } = require('./stats');

/**
 * contestants: [{ name, unit?, run: async (iteration) => number | { metric: number } }]
 *   The first metric a contestant returns is its main one ('time' when it returns a number).
 * opts: { minRuns, maxRuns, warmup, checkEvery, settle (relative change of the median),
 *         maxSeconds, seed, log, between?: async () => void }
 * Returns { iterations, settled, seconds, seed, series: { [contestant]: { [metric]: samples[] } },
 *           errors: { [contestant]: string[] }, disabled: { [contestant]: reason } }
 */
async function interleave(contestants, opts) {
  const o = { minRuns: 20, maxRuns: 100, warmup: 2, checkEvery: 10, settle: 0.02, maxSeconds: 600, seed: 42, ...opts };
  const rand = rng(o.seed);
  const series = {};
  const errors = {};
  const disabled = {};
  const fails = {};
  for (const c of contestants) {
    series[c.name] = {};
    errors[c.name] = [];
    fails[c.name] = 0;
  }
  const t0 = Date.now();
  const runOne = async (c, it, record) => {
    if (disabled[c.name]) return;
    let v;
    try {
      v = await c.run(it);
      fails[c.name] = 0;
    } catch (e) {
      const msg = String(e && e.message ? e.message : e).split('\n').slice(0, 4).join(' ');
      errors[c.name].push(`iteration ${it}: ${msg}`);
      if (o.log) o.log(`  ${c.name}: ${msg}`);
      fails[c.name] += 1;
      if (fails[c.name] >= 3) disabled[c.name] = `failed 3 times in a row: ${msg}`;
      v = undefined;
    }
    if (!record) return;
    const metrics = typeof v === 'number' ? { time: v } : v || {};
    for (const [m, x] of Object.entries(metrics)) {
      series[c.name][m] ??= [];
      series[c.name][m][it] = x;
    }
  };
  for (let w = 0; w < o.warmup; w++) {
    for (const c of shuffle(contestants, rand)) await runOne(c, -1, false);
    if (o.between) await o.between();
  }
  let it = 0;
  let settled = false;
  let lastMedians;
  for (; it < o.maxRuns; it++) {
    for (const c of shuffle(contestants, rand)) await runOne(c, it, true);
    if (o.between) await o.between();
    const done = it + 1;
    if (o.log && done % 10 === 0) o.log(`  ${done} iterations (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0]})`);
    if ((Date.now() - t0) / 1000 > o.maxSeconds) {
      it += 1;
      break;
    }
    if (done >= o.minRuns && (done - o.minRuns) % o.checkEvery === 0) {
      const medians = {};
      for (const [name, ms] of Object.entries(series)) for (const [m, s] of Object.entries(ms)) medians[`${name}|${m}`] = summarize(s).median;
      if (lastMedians) {
        settled = Object.entries(medians).every(([k, v]) => {
          const p = lastMedians[k];
          if (!Number.isFinite(v) || !Number.isFinite(p)) return true;
          return Math.abs(v - p) <= o.settle * Math.abs(p);
        });
        if (settled) {
          it += 1;
          break;
        }
      }
      lastMedians = medians;
    }
  }
  // dense arrays: a missing sample is null
  for (const ms of Object.values(series)) for (const m of Object.keys(ms)) ms[m] = Array.from({ length: it }, (_, i) => (Number.isFinite(ms[m][i]) ? ms[m][i] : null));
  return { iterations: it, settled, seconds: (Date.now() - t0) / 1000, seed: o.seed, series, errors, disabled };
}

/** Rows for the report: one per contestant and metric. */
function rowsOf(result, units = {}) {
  const rows = [];
  for (const [name, ms] of Object.entries(result.series)) {
    for (const [metric, samples] of Object.entries(ms)) {
      rows.push({ contestant: name, metric, unit: units[`${name}|${metric}`] ?? units[metric] ?? units[name] ?? 'ms', samples, ...summarize(samples) });
    }
  }
  return rows;
}

function samplesOf(result, name, metric) {
  const ms = result.series[name];
  if (!ms) return [];
  return ms[metric ?? Object.keys(ms)[0]] ?? [];
}

/**
 * A target: `value` is what was measured (a paired median ratio, usually); kind 'max' means the
 * value must be ≤ limit, 'min' ≥ limit. Returns a record for the report.
 */
function target({ part, row, metric, label, kind, limit, value, detail, unit = '×' }) {
  const measured = Number.isFinite(value);
  const met = measured && (kind === 'max' ? value <= limit : value >= limit);
  let by = '';
  if (measured && limit === 0) by = met ? 'none at all' : `${+value.toFixed(3)} ${unit} over`;
  else if (measured) {
    if (kind === 'max') by = met ? `${pct(1 - value / limit)} under the limit` : `over by ${pct(value / limit - 1)}`;
    else by = met ? `${pct(value / limit - 1)} above the bar` : `short by ${limit / value >= 2 ? `${(limit / value).toFixed(1)}×` : pct(1 - value / limit)}`;
  }
  return {
    part,
    row,
    metric: metric ?? null,
    label,
    kind,
    limit,
    unit,
    value: measured ? value : null,
    status: measured ? (met ? 'met' : 'missed') : 'not measured',
    by,
    detail: detail ?? '',
  };
}

function pct(x) {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

/** Paired ratio median of two series (a/b per iteration). */
function pairedRatio(result, a, b, am, bm) {
  return paired(samplesOf(result, a, am), samplesOf(result, b, bm));
}

module.exports = { interleave, rowsOf, samplesOf, target, pairedRatio, paired };
