'use strict';
/** Order statistics of a sample: min, median, p95, max (linear interpolation between ranks). */

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, min: NaN, median: NaN, p95: NaN, max: NaN, mean: NaN, q1: NaN, q3: NaN };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return {
    n: v.length,
    min: v[0],
    median: quantile(v, 0.5),
    p95: quantile(v, 0.95),
    max: v[v.length - 1],
    mean,
    q1: quantile(v, 0.25),
    q3: quantile(v, 0.75),
  };
}

function median(values) {
  return summarize(values).median;
}

/**
 * Paired ratios: for each iteration where both a[i] and b[i] were measured, f(a[i], b[i]);
 * summarised. The contestants ran in the same iteration, so load drifts cancel out.
 */
function paired(a, b, f = (x, y) => x / y) {
  const out = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isFinite(x) && Number.isFinite(y) && y !== 0) out.push(f(x, y));
  }
  return summarize(out);
}

/** A seeded PRNG (mulberry32), so a run's contestant orders can be reproduced. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(arr, rand) {
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

module.exports = { quantile, summarize, median, paired, rng, shuffle };
