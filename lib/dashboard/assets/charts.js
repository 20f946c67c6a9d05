// brokkr dashboard, charts: completed (green) and failed (red) jobs per minute as stacked bars,
// drawn by hand as SVG (no library). Each chart's minutes come from the page (data-chart); the
// main script adds live counts and replaces them with fresh ones (window.brokkrCharts).
(() => {
  // biome-ignore lint/suspicious/noRedundantUseStrict: a classic script, not a module, so strict mode is not implied
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const pageQueue = document.body.dataset.queue || '';
  const fmt = (n) => Number(n).toLocaleString('en');

  const charts = [];
  for (const svg of document.querySelectorAll('svg[data-chart]')) {
    const row = svg.closest('[data-queue]');
    charts.push({ svg, queue: row ? row.dataset.queue : pageQueue, points: JSON.parse(svg.dataset.chart || '[]') });
  }

  function drawChart(chart) {
    const { svg, points } = chart;
    const box = svg.getBoundingClientRect();
    const width = Math.max(60, Math.round(box.width));
    const height = Math.max(20, Math.round(box.height));
    const large = height > 60;
    const top = large ? 14 : 2;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const max = Math.max(1, ...points.map((p) => p[1] + p[2]));
    const step = width / Math.max(points.length, 1);
    const nodes = [];
    points.forEach(([at, completed, failed], i) => {
      const x = i * step + step * 0.1;
      const w = Math.max(1, step * 0.8);
      const hc = (completed / max) * (height - top);
      const hf = (failed / max) * (height - top);
      const g = document.createElementNS(SVG, 'g');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${new Date(at).toISOString().slice(11, 16)} UTC: ${fmt(completed)} completed, ${fmt(failed)} failed`;
      g.append(title);
      g.append(bar(x, height - hc, w, hc, 'c'), bar(x, height - hc - hf, w, hf, 'f'));
      nodes.push(g);
    });
    if (large) {
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', '4');
      label.setAttribute('y', '11');
      label.setAttribute('class', 'axis');
      label.textContent = `${fmt(max)} / min`;
      nodes.push(label);
    }
    svg.replaceChildren(...nodes);
  }

  function bar(x, y, w, h, cls) {
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('x', x.toFixed(1));
    r.setAttribute('y', y.toFixed(1));
    r.setAttribute('width', w.toFixed(1));
    r.setAttribute('height', Math.max(0, h).toFixed(1));
    r.setAttribute('class', cls);
    return r;
  }

  /** Adds live completions and failures to the minute they happened in, sliding the hour on. */
  function add(queue, at, completed, failed) {
    if (!completed && !failed) return;
    const minute = Math.floor(at / 60000) * 60000;
    for (const chart of charts) {
      if (chart.queue !== queue) continue;
      const last = chart.points[chart.points.length - 1];
      if (!last || minute > last[0]) {
        chart.points.push([minute, 0, 0]);
        if (chart.points.length > 61) chart.points.shift();
      }
      const point = chart.points[chart.points.length - 1];
      point[1] += completed;
      point[2] += failed;
      drawChart(chart);
      const totals = chart.svg.parentNode.querySelector('[data-totals]');
      const sum = (i) => chart.points.reduce((n, p) => n + p[i], 0);
      if (totals) totals.textContent = `${fmt(sum(1))} completed / ${fmt(sum(2))} failed`;
    }
  }

  function set(queue, points) {
    for (const chart of charts) {
      if (chart.queue !== queue) continue;
      chart.points = points;
      drawChart(chart);
    }
  }

  for (const chart of charts) drawChart(chart);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => charts.forEach(drawChart), 150);
  });
  window.brokkrCharts = { add, set };
})();
