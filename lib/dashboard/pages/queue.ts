import { CSRF_FIELD } from '../auth';
import { PAGE_SIZE, type QueuePageData } from '../data';
import { html, type SafeHtml } from '../html';
import { type JobRowView, queueHref, STATUS_TABS } from '../views';
import { actionForm, layout, num, type PageContext, statusBadge } from './layout';
import { chart } from './overview';

/** One queue: its jobs by status with paging and search by id, its controls and settings, its schedules. */
export function queuePage(ctx: PageContext, d: QueuePageData, notice: string | null): SafeHtml {
  const q = d.summary;
  const base = queueHref(ctx, q.name);
  const total = q.counts[d.status];
  const tabs = STATUS_TABS.map(
    (s) =>
      html`<a class="tab${s === d.status ? ' current' : ''}" href="${base}?status=${s}">${s} <span class="count" data-count="${s}">${num(q.counts[s])}</span></a>`,
  );
  const from = total === 0 ? 0 : Math.min(d.offset + 1, total);
  const to = Math.min(d.offset + d.rows.length, total);
  const page = (offset: number) => `${base}?status=${d.status}&offset=${offset}`;
  const pager = html`<nav class="pager">
<span data-range>${num(from)}–${num(to)} of <span data-count="${d.status}">${num(total)}</span></span>
${d.offset > 0 ? html`<a href="${page(Math.max(0, d.offset - PAGE_SIZE))}">‹ previous</a>` : ''}
${d.offset + PAGE_SIZE < total ? html`<a href="${page(d.offset + PAGE_SIZE)}">next ›</a>` : ''}
</nav>`;
  const body = html`<section class="head">
<h1>${q.name} <span class="badge paused" data-paused${q.paused ? '' : html` hidden`}>paused</span></h1>
<div class="toolbar">
${actionForm(ctx, { action: `${base}/pause`, label: 'Pause', name: 'pause', hidden: q.paused, confirm: `Pause queue ${q.name}? Running jobs finish; no new job starts.` })}
${actionForm(ctx, { action: `${base}/resume`, label: 'Resume', name: 'resume', hidden: !q.paused })}
${actionForm(ctx, { action: `${base}/retry-failed`, label: 'Retry all failed', confirm: `Put every failed job of ${q.name} back to queued?` })}
${cleanForm(ctx, base)}
</div>
${notice ? html`<p class="notice-inline">${notice}</p>` : ''}
</section>
<section class="split">
<div>
<h2>Throughput, last hour</h2>
${chart(q, 'large')}
<p class="timings">wait <span data-wait>${q.wait.p50} / ${q.wait.p95} / ${q.wait.p99}</span> · run <span data-run>${q.run.p50} / ${q.run.p95} / ${q.run.p99}</span> <span class="hint">(p50 / p95 / p99)</span></p>
</div>
<div>
<h2>Limits</h2>
<dl class="facts">
<dt>rate limit</dt><dd>${d.flow.rateLimit}</dd>
<dt>concurrency</dt><dd>${d.flow.concurrency}</dd>
<dt>per group</dt><dd>${d.flow.groupLimits}</dd>
</dl>
${flowForm(ctx, base, d)}
</div>
</section>
<section>
<h2>Jobs</h2>
<nav class="tabs">${tabs}</nav>
<form method="get" action="${base}" class="search"><input type="search" name="id" placeholder="job id" aria-label="find a job by id" required><button type="submit">Find</button></form>
<table class="grid jobs">
<thead><tr><th>id</th><th>name</th><th>status</th><th class="num">attempts</th><th>enqueued</th><th>finished / runs</th><th>error</th></tr></thead>
<tbody id="jobs" data-status="${d.status}" data-offset="${d.offset}">${d.rows.map(jobRow)}</tbody>
</table>
<p class="empty" id="jobs-empty"${d.rows.length ? html` hidden` : ''}>No ${d.status} jobs.</p>
${pager}
</section>
<section>
<h2>Schedules</h2>
${
  d.schedules.length === 0
    ? html`<p class="empty">No recurring schedules.</p>`
    : html`<table class="grid"><thead><tr><th>id</th><th>when</th><th>job</th><th>next run</th><th>last run</th><th class="num">ticks</th></tr></thead><tbody>${d.schedules.map(
        (s) =>
          html`<tr><td>${s.id}</td><td>${s.spec}</td><td>${s.job}</td><td>${s.next}</td><td>${s.last}</td><td class="num">${num(s.count)}</td></tr>`,
      )}</tbody></table>`
}
</section>`;
  return layout(ctx, {
    title: q.name,
    kind: 'queue',
    live: [q.name],
    queue: q.name,
    crumbs: [
      ['overview', `${ctx.base}/`],
      [q.name, null],
    ],
    body,
  });
}

export function jobRow(r: JobRowView): SafeHtml {
  return html`<tr data-id="${r.id}"><td class="id"><a href="${r.href}">${r.id}</a></td><td>${r.name}</td><td>${statusBadge(r.status)}</td><td class="num">${r.attempts}</td><td>${r.enqueued}</td><td>${r.when}</td><td class="note">${r.note}</td></tr>`;
}

function cleanForm(ctx: PageContext, base: string): SafeHtml | '' {
  if (ctx.readOnly) return '';
  return html`<form method="post" action="${base}/clean" class="action inline" data-confirm="Delete these finished jobs for good?"><input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}">
<label>Clean <select name="status"><option value="completed">completed</option><option value="failed">failed</option></select></label>
<label>older than <select name="olderThanMs"><option value="0">any age</option><option value="3600000">1 hour</option><option value="86400000">1 day</option><option value="604800000">7 days</option></select></label>
<button type="submit" class="danger">Clean</button></form>`;
}

function flowForm(ctx: PageContext, base: string, d: QueuePageData): SafeHtml | '' {
  if (ctx.readOnly) return '';
  return html`<form method="post" action="${base}/limits" class="action limits"><input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}">
<label>concurrency <input type="number" name="concurrency" min="1" step="1" value="${d.flow.concurrencyValue}" placeholder="none"></label>
<label>rate <input type="number" name="rateMax" min="1" step="1" value="${d.flow.rateMax}" placeholder="none"> jobs per <input type="number" name="rateMs" min="1" step="1" value="${d.flow.rateMs}" placeholder="ms"> ms</label>
<button type="submit">Save limits</button> <span class="hint">(empty: no limit)</span></form>`;
}
