'use strict';
/**
 * One SVG per part: bars of the medians with whiskers to the p95, one panel per metric, drawn
 * with vega-lite + vega in Node (renderer 'none': no browser, no canvas).
 */
const fs = require('node:fs');
const path = require('node:path');
const { RESULTS, fmt } = require('./report');

const HULL = /^(hull|executor)/i;

function dataOf(res) {
  if (res.chartRows) {
    return res.chartRows.map((r) => ({ label: r.label, metric: r.metric, median: r.median, p95: r.p95 ?? null, group: r.group }));
  }
  return res.rows.map((r) => ({
    label: r.contestant,
    metric: `${r.metric === 'time' ? (r.unit === 'MB/s' ? 'throughput' : 'time') : r.metric} (${r.unit})`,
    median: r.median,
    p95: r.p95,
  }));
}

function specOf(res) {
  const log = res.part === 'stats';
  const values = dataOf(res)
    .filter((d) => Number.isFinite(d.median))
    .map((d) => ({ ...d, group: d.group ?? (HULL.test(d.label) ? 'hull' : 'other'), text: fmt(d.median), end: Number.isFinite(d.p95) ? Math.max(d.p95, d.median) : d.median }));
  const minPos = Math.min(...values.map((v) => v.median).filter((x) => x > 0));
  for (const v of values) v.base = log ? minPos / 3 : 0;
  const y = { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 340 } };
  const x = { field: 'median', type: 'quantitative', title: log ? 'median (log scale); whisker to p95' : 'median; whisker to p95', ...(log ? { scale: { type: 'log' } } : {}) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${res.part}${res.quick ? ' (quick run: few samples, noisy)' : ''}`, subtitle: res.date, anchor: 'start' },
    data: { values },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: [...new Set(values.map((v) => v.metric))], header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelFontWeight: 'bold', labelOrient: 'top' } } },
    spec: {
      width: 460,
      height: { step: 20 },
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.7 } },
          encoding: {
            y,
            x,
            x2: { field: 'base' },
            color: { field: 'group', type: 'nominal', scale: { domain: ['hull', 'other'], range: ['#e45756', '#4c78a8'] }, legend: null },
          },
        },
        { transform: [{ filter: 'isValid(datum.p95)' }], mark: { type: 'rule', color: '#333' }, encoding: { y, x, x2: { field: 'p95' } } },
        { transform: [{ filter: 'isValid(datum.p95)' }], mark: { type: 'tick', color: '#333', thickness: 1.5, height: 10 }, encoding: { y, x: { field: 'p95', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', dx: 5, fontSize: 10 }, encoding: { y, x: { field: 'end', type: 'quantitative' }, text: { field: 'text' } } },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { view: { stroke: null }, axis: { labelFontSize: 11 } },
  };
}

async function plot(res) {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const spec = specOf(res);
  if (!spec.data.values.length) return undefined;
  const quiet = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quiet }).spec), { renderer: 'none', logger: quiet });
  const svg = await view.toSVG();
  view.finalize();
  const file = path.join(RESULTS, `${res.part}.svg`);
  fs.writeFileSync(file, svg);
  return file;
}

module.exports = { plot, specOf };
