import { CSRF_FIELD } from '../auth';
import { html, type HtmlValue, type SafeHtml } from '../html';

/** What every page is rendered with. */
export interface PageContext {
  /** the path the dashboard is mounted at ('' at the root): every link starts with it */
  base: string;
  readOnly: boolean;
  csrf: string;
  /** URLs of the client scripts (in order) and stylesheet, versioned by content */
  scripts: string[];
  style: string;
}

export interface Page {
  title: string;
  /** what the client script does on this page */
  kind: 'overview' | 'queue' | 'job' | 'error';
  /** the queues whose live events the page listens to */
  live: string[];
  queue?: string;
  job?: string;
  crumbs: [string, string | null][];
  body: SafeHtml;
}

export function layout(ctx: PageContext, page: Page): SafeHtml {
  const crumbs = page.crumbs.map(([label, href]) => (href ? html`<a href="${href}">${label}</a>` : html`<span>${label}</span>`));
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${page.title} · brokkr</title>
<link rel="stylesheet" href="${ctx.style}">
${ctx.scripts.map(
  (src) => html`<script src="${src}" defer></script>
`,
)}
</head>
<body data-base="${ctx.base}" data-kind="${page.kind}" data-live="${JSON.stringify(page.live)}" data-queue="${page.queue ?? ''}" data-job="${page.job ?? ''}" data-read-only="${ctx.readOnly ? '1' : '0'}" data-csrf="${ctx.readOnly ? '' : ctx.csrf}">
<header class="top">
  <a class="brand" href="${ctx.base}/">brokkr</a>
  <nav class="crumbs">${crumbs}</nav>
  <span id="live" class="live" title="live updates">${page.live.length ? 'connecting…' : ''}</span>
  ${ctx.readOnly && page.kind !== 'error' ? html`<span class="badge">read-only</span>` : ''}
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<div id="notice" class="notice" role="status" hidden></div>
<main>
${page.body}
</main>
</body>
</html>
`;
}

export function statusBadge(status: string, attrs: HtmlValue = ''): SafeHtml {
  return html`<span class="status s-${status}" ${attrs}>${status}</span>`;
}

export interface ActionButton {
  /** where the form posts */
  action: string;
  label: string;
  /** the client script asks before posting */
  confirm?: string;
  fields?: [string, string][];
  danger?: boolean;
  hidden?: boolean;
  /** lets the client script show or hide it as the job's status changes */
  name?: string;
}

/**
 * A form that posts one action. It works without the client script (the server answers with a
 * redirect back); with it, the script posts it with fetch and the page updates in place.
 */
export function actionForm(ctx: PageContext, b: ActionButton): SafeHtml | '' {
  if (ctx.readOnly) return '';
  const fields = (b.fields ?? []).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return html`<form method="post" action="${b.action}" class="action" data-confirm="${b.confirm ?? ''}" data-name="${b.name ?? ''}"${b.hidden ? html` hidden` : ''}><input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}">${fields}<button type="submit"${b.danger ? html` class="danger"` : ''}>${b.label}</button></form>`;
}

export function num(n: number): string {
  return n.toLocaleString('en');
}
