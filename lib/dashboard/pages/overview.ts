import { LISTED_STATUSES } from '../../states';
import { html, type SafeHtml } from '../html';
import type { QueueSummaryView, WorkerView } from '../views';
import { layout, num, type PageContext } from './layout';

/** Every queue with its counts, throughput chart and timings; the live supervisors. */
export function overviewPage(ctx: PageContext, data: { queues: QueueSummaryView[]; workers: WorkerView[]; prefix: string }): SafeHtml {
  const queues =
    data.queues.length === 0
      ? html`<p class="empty">No queues under the prefix <code>${data.prefix}</code> yet: a queue shows up once it holds a job or a setting.</p>`
      : html`<table class="grid queues">
<thead><tr><th>queue</th>${LISTED_STATUSES.map((s) => html`<th class="num">${s}</th>`)}<th>last hour, per minute</th><th>wait p50 / 95 / 99</th><th>run p50 / 95 / 99</th></tr></thead>
<tbody>${data.queues.map(queueRow)}</tbody>
</table>`;
  const body = html`<section>
<h1>Queues</h1>
${queues}
</section>
<section>
<h2>Supervisors</h2>
${workersTable(data.workers)}
</section>`;
  return layout(ctx, { title: 'Overview', kind: 'overview', live: data.queues.map((q) => q.name), crumbs: [['overview', null]], body });
}

function queueRow(q: QueueSummaryView): SafeHtml {
  return html`<tr data-queue="${q.name}">
<td><a href="${q.href}">${q.name}</a> <span class="badge paused" data-paused${q.paused ? '' : html` hidden`}>paused</span></td>
${LISTED_STATUSES.map((s) => html`<td class="num${s === 'failed' && q.counts.failed > 0 ? ' bad' : ''}" data-count="${s}">${num(q.counts[s])}</td>`)}
<td>${chart(q, 'small')}</td>
<td data-wait>${q.wait.p50} / ${q.wait.p95} / ${q.wait.p99}</td>
<td data-run>${q.run.p50} / ${q.run.p95} / ${q.run.p99}</td>
</tr>`;
}

/** An empty SVG the client script draws into (hand-drawn bars, no library); the numbers beside it work without script. */
export function chart(q: QueueSummaryView, size: 'small' | 'large'): SafeHtml {
  return html`<div class="chart-box ${size}"><svg class="chart" data-chart="${JSON.stringify(q.chart)}" role="img" aria-label="completed and failed jobs per minute, last hour"></svg><span class="chart-total" data-totals>${num(q.completed)} completed / ${num(q.failed)} failed</span></div>`;
}

export function workersTable(workers: WorkerView[]): SafeHtml {
  // the table is always there, so the client script can fill it when the first supervisor starts
  return html`<p class="empty" id="workers-empty"${workers.length ? html` hidden` : ''}>No live supervisors (one drops out 15 s after its last heartbeat).</p>
<table class="grid workers" id="workers-table"${workers.length ? '' : html` hidden`}>
<thead><tr><th>host</th><th class="num">pid</th><th>queues</th><th class="num">concurrency</th><th class="num">threads</th><th class="num">in flight</th><th class="num">completed</th><th class="num">failed</th><th>up</th><th>last heartbeat</th></tr></thead>
<tbody id="workers">${workers.map(
    (w) =>
      html`<tr${w.stale ? html` class="stale"` : ''} title="${w.id}"><td>${w.host}</td><td class="num">${w.pid}</td><td>${w.queues}</td><td class="num">${w.concurrency}</td><td class="num">${w.threads}</td><td class="num">${w.running}</td><td class="num">${num(w.completed)}</td><td class="num${w.failed > 0 ? ' bad' : ''}">${num(w.failed)}</td><td>${w.up}</td><td>${w.lastBeat}</td></tr>`,
  )}</tbody>
</table>`;
}
