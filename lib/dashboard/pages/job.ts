import { html, type SafeHtml } from '../html';
import { jobHref, type JobView, type LinkView } from '../views';
import { actionForm, layout, type PageContext, statusBadge } from './layout';

/**
 * One job: what went wrong first (its error and stack, the errors of earlier tries), then its
 * facts, progress, data, result, logs and dependencies. Each part has an id the client script
 * refills from the JSON API when the job changes.
 */
export function jobPage(ctx: PageContext, j: JobView): SafeHtml {
  const base = jobHref(ctx, j.queue, j.id);
  const body = html`<section class="head">
<h1><span data-field="name">${j.name}</span> ${statusBadge(j.status, html`data-field="status"`)}</h1>
<p class="id">${j.id}</p>
<div class="toolbar">
${actionForm(ctx, { action: `${base}/retry`, label: 'Retry', name: 'retry', hidden: !j.actions.retry })}
${actionForm(ctx, { action: `${base}/cancel`, label: 'Cancel', name: 'cancel', hidden: !j.actions.cancel, confirm: 'Cancel this job?', danger: true })}
${actionForm(ctx, { action: `${base}/remove`, label: 'Remove', name: 'remove', hidden: !j.actions.remove, confirm: 'Delete this job for good?', danger: true })}
</div>
</section>
${part('error', 'Error', j.error === null, html`<p class="error-title bad" id="job-error-title">${j.error?.title ?? ''}</p><pre class="stack bad" id="job-error">${j.error?.frames ?? ''}</pre>`)}
${part('tries', 'Failed tries', j.tries.length === 0, html`<ol id="job-tries" class="tries">${j.tries.map(tryItem)}</ol>`)}
<section><h2>Facts</h2><dl class="facts" id="job-facts">${j.facts.map(([label, text]) => html`<dt>${label}</dt><dd>${text}</dd>`)}</dl></section>
${part('progress', 'Progress', j.progress === '', html`<progress id="job-progress-bar" max="1" value="${j.progressFraction ?? 0}"${j.progressFraction === null ? html` hidden` : ''}></progress><pre id="job-progress">${j.progress}</pre>`)}
<section><h2>Data</h2><pre id="job-data">${j.data}</pre></section>
${part('result', 'Result', j.result === '', html`<pre id="job-result">${j.result}</pre>`)}
${part('logs', 'Logs', j.logs.length === 0, html`<pre id="job-logs" class="logs">${j.logs.join('\n')}</pre>`)}
${part(
  'deps',
  'Depends on',
  j.dependsOn.length === 0,
  html`<ul id="job-deps" class="links">${j.dependsOn.map(linkItem)}</ul><p class="hint" id="job-policy">${j.policy}</p>`,
)}
${part(
  'dependents',
  'Waiting on this job',
  j.dependents === null,
  html`<ul id="job-dependents" class="links">${(j.dependents ?? []).map(linkItem)}</ul><p class="hint">Known while this job's outcome has not been handed to them; afterwards each one's own page names this job under Depends on.</p>`,
)}`;
  return layout(ctx, {
    title: `${j.name} ${j.id}`,
    kind: 'job',
    live: [j.queue],
    queue: j.queue,
    job: j.id,
    crumbs: [
      ['overview', `${ctx.base}/`],
      [j.queue, j.queueHref],
      [j.id, null],
    ],
    body,
  });
}

/** A titled part of the page, hidden while it has nothing to show (the client script may fill it later). */
function part(name: string, title: string, empty: boolean, content: SafeHtml): SafeHtml {
  return html`<section data-part="${name}"${empty ? html` hidden` : ''}><h2>${title}</h2>${content}</section>`;
}

function tryItem(t: { title: string; stack: string }): SafeHtml {
  return html`<li><details><summary>${t.title}</summary><pre class="stack">${t.stack}</pre></details></li>`;
}

function linkItem(l: LinkView): SafeHtml {
  return html`<li><a href="${l.href}">${l.label}</a>${l.status ? html` ${statusBadge(l.status)}` : ''}</li>`;
}
