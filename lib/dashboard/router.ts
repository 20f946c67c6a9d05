import type { IncomingMessage, ServerResponse } from 'node:http';
import { LISTED_STATUSES, type ListedStatus } from '../states';
import { JOB_ACTIONS, type JobAction, jobAction, QUEUE_ACTIONS, type QueueAction, queueAction, readForm } from './actions';
import type { Asset } from './assets';
import { CSRF_FIELD, CSRF_HEADER, checkActionAllowed, checkReadAccess, csrfTokenFor, tokenCookie } from './auth';
import { type DashboardData, httpErrorOf, PAGE_SIZE } from './data';
import { DashboardErrorCodes, DashboardHttpError } from './errors';
import { html } from './html';
import type { LiveHub } from './live';
import type { DashboardSettings } from './options';
import { jobPage } from './pages/job';
import { layout, type PageContext } from './pages/layout';
import { overviewPage } from './pages/overview';
import { queuePage } from './pages/queue';
import { jobHref, type Links } from './views';

/**
 * Routes a request: works out where the dashboard is mounted, checks access, then serves a page,
 * a JSON read, the live event stream, a static file, or runs an action. Routes are relative to
 * the mount: `/`, `/queues/<queue>`, `/queues/<queue>/jobs/<id>`, the same under `/api`, `/api/events`,
 * `/assets/<file>`, and POSTs to `/queues/<queue>/<action>` and `/queues/<queue>/jobs/<id>/<action>`.
 */

/** No inline script or style, nothing from another origin, no framing, forms post only here. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const MAX_LIVE_QUEUES = 500;

export interface RouterDeps {
  settings: DashboardSettings;
  data: DashboardData;
  hub: LiveHub;
  assets: Map<string, Asset>;
}

interface Located {
  /** the path the dashboard is mounted at, as the browser sees it ('' at the root) */
  mount: string;
  /** path segments below the mount, decoded */
  segments: string[];
  query: URLSearchParams;
  /** the request's own URL path below the mount, to redirect to after `?token=` */
  relative: string;
}

export class Router {
  private readonly csrf: string;

  constructor(private readonly deps: RouterDeps) {
    this.csrf = csrfTokenFor(deps.settings.csrfSecret);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    let where: Located | null = null;
    try {
      where = locate(req, this.deps.settings.basePath);
      const [first] = where.segments;
      if (first === 'assets') return this.asset(req, res, where);
      const queryToken = where.query.get('token');
      checkReadAccess(req, this.deps.settings, queryToken);
      if (queryToken !== null && req.method === 'GET') {
        // the token becomes a cookie and leaves the address bar, the history and any Referer
        where.query.delete('token');
        const rest = where.query.toString();
        res.setHeader('set-cookie', tokenCookie(queryToken, where.mount || '/', isEncrypted(req)));
        return redirect(res, `${where.mount}${where.relative}${rest ? `?${rest}` : ''}`);
      }
      if (req.method === 'POST') return await this.action(req, res, where);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD, POST');
        throw new DashboardHttpError(DashboardErrorCodes.METHOD, `${req.method} is not served here`);
      }
      if (first === 'api') return await this.api(req, res, where);
      return await this.page(res, where);
    } catch (err) {
      this.fail(req, res, where, err);
    }
  }

  private ctx(where: Located): PageContext {
    const url = (name: string) => `${where.mount}/assets/${name}?v=${this.deps.assets.get(name)!.version}`;
    return {
      base: where.mount,
      readOnly: this.deps.settings.readOnly,
      csrf: this.csrf,
      scripts: [url('charts.js'), url('dashboard.js')],
      style: url('dashboard.css'),
    };
  }

  private async page(res: ServerResponse, where: Located): Promise<void> {
    const { data, settings } = this.deps;
    const ctx = this.ctx(where);
    const s = where.segments;
    if (s.length === 0) {
      const overview = await data.overview(ctx);
      return sendHtml(res, 200, overviewPage(ctx, { ...overview, prefix: settings.prefix }).value);
    }
    if (s[0] === 'queues') await data.checkQueue(s[1] ?? '');
    if (s[0] === 'queues' && s.length === 2) {
      const name = s[1]!;
      const id = where.query.get('id')?.trim();
      let notice: string | null = null;
      if (id) {
        if (await data.queue(name).getJob(id)) return redirect(res, jobHref(ctx, name, id));
        notice = `No job with id ${id} in ${name} (never enqueued, expired or removed).`;
      }
      const counts = await data.queue(name).getCounts();
      const status = statusParam(where.query) ?? (counts.failed > 0 ? 'failed' : 'queued');
      const offset = offsetParam(where.query);
      return sendHtml(res, 200, queuePage(ctx, await data.queuePage(ctx, name, status, offset), notice).value);
    }
    if (s[0] === 'queues' && s[2] === 'jobs' && s.length === 4) {
      const job = await data.job(ctx, s[1]!, s[3]!);
      if (!job)
        throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, `No job ${s[3]} in queue ${s[1]}: never enqueued, expired or removed.`);
      return sendHtml(res, 200, jobPage(ctx, job).value);
    }
    throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, 'There is no such page.');
  }

  private async api(req: IncomingMessage, res: ServerResponse, where: Located): Promise<void> {
    const { data, hub } = this.deps;
    const l: Links = { base: where.mount };
    const s = where.segments.slice(1);
    if (s.length === 1 && s[0] === 'events') {
      const queues = where.query.getAll('queue');
      if (queues.length > MAX_LIVE_QUEUES) throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, 'too many queues in one stream');
      for (const q of new Set(queues)) await data.checkQueue(q);
      hub.attach(res, [...new Set(queues)]);
      req.socket.setTimeout(0); // a stream stays open as long as the page does
      return;
    }
    if (s.length === 1 && s[0] === 'overview') return sendJson(res, 200, await data.overview(l));
    if (s[0] === 'queues') await data.checkQueue(s[1] ?? '');
    if (s[0] === 'queues' && s.length === 2) return sendJson(res, 200, await data.summary(l, s[1]!));
    if (s[0] === 'queues' && s[2] === 'jobs' && s.length === 3) {
      const status = statusParam(where.query) ?? 'queued';
      const offset = offsetParam(where.query);
      const [rows, counts] = await Promise.all([data.jobRows(l, s[1]!, status, offset), data.queue(s[1]!).getCounts()]);
      return sendJson(res, 200, { status, offset, rows, total: counts[status] });
    }
    if (s[0] === 'queues' && s[2] === 'jobs' && s.length === 4) {
      const job = await data.job(l, s[1]!, s[3]!);
      if (!job) throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, `no job ${s[3]} in queue ${s[1]}`);
      return sendJson(res, 200, job);
    }
    throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, 'no such API route');
  }

  private async action(req: IncomingMessage, res: ServerResponse, where: Located): Promise<void> {
    const { settings, data, hub } = this.deps;
    if (settings.readOnly) checkActionAllowed(req, true, this.csrf, null);
    const form = await readForm(req);
    checkActionAllowed(req, false, this.csrf, form.get(CSRF_FIELD));
    const l: Links = { base: where.mount };
    const s = where.segments;
    if (s[0] === 'queues') await data.checkQueue(s[1] ?? '');
    let outcome: { message: string; redirect: string };
    if (s[0] === 'queues' && s.length === 3 && (QUEUE_ACTIONS as readonly string[]).includes(s[2]!)) {
      outcome = await queueAction(l, data, hub, s[1]!, s[2] as QueueAction, form);
    } else if (s[0] === 'queues' && s[2] === 'jobs' && s.length === 5 && (JOB_ACTIONS as readonly string[]).includes(s[4]!)) {
      outcome = await jobAction(l, data, hub, s[1]!, s[3]!, s[4] as JobAction);
    } else {
      throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, 'no such action');
    }
    if (wantsJson(req)) return sendJson(res, 200, { ok: true, ...outcome });
    redirect(res, outcome.redirect);
  }

  private asset(req: IncomingMessage, res: ServerResponse, where: Located): void {
    const asset = where.segments.length === 2 ? this.deps.assets.get(where.segments[1]!) : undefined;
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, 'no such file');
    }
    const versioned = where.query.get('v') === asset.version;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: `"${asset.version}"`,
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  private fail(req: IncomingMessage, res: ServerResponse, where: Located | null, err: unknown): void {
    const e = httpErrorOf(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.code === DashboardErrorCodes.UNAUTHORIZED) res.setHeader('www-authenticate', 'Bearer realm="brokkr dashboard"');
    const api = where?.segments[0] === 'api' || req.method === 'POST';
    if (api && (wantsJson(req) || where?.segments[0] === 'api')) {
      sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      return;
    }
    const ctx = this.ctx(where ?? { mount: this.deps.settings.basePath, segments: [], query: new URLSearchParams(), relative: '/' });
    const askToken = e.code === DashboardErrorCodes.UNAUTHORIZED;
    const body = html`<section class="failure"><h1>${e.status === 404 ? 'Not found' : askToken ? 'Token needed' : `Error ${e.status}`}</h1><p>${e.message}</p>
${askToken ? html`<form method="get" class="token"><label>token <input type="password" name="token" autocomplete="current-password" required></label><button type="submit">Open</button></form>` : ''}</section>`;
    // a page for a person who may not be allowed in shows nothing of the queues, and no CSRF token
    const page = layout(
      { ...ctx, readOnly: true, csrf: '' },
      { title: `Error ${e.status}`, kind: 'error', live: [], crumbs: [['overview', `${ctx.base}/`]], body },
    );
    sendHtml(res, e.status, page.value);
  }
}

/**
 * Where the dashboard is mounted, from the request. Express's `app.use('/admin', handler)` hands it
 * `req.url` without the mount and keeps the full URL in `req.originalUrl`: the difference is the
 * mount. Servers that pass the full URL (plain http, Fastify) need `basePath`, which is stripped here.
 */
export function locate(req: IncomingMessage, basePath: string): Located {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  let path = url.pathname;
  let mount = basePath;
  const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
  if (typeof original === 'string' && original !== req.url) {
    const full = new URL(original, 'http://dashboard.invalid').pathname;
    if (full.endsWith(path)) mount = full.slice(0, full.length - path.length);
    else if (path === '/') mount = full;
    mount = mount.replace(/\/+$/, '');
  } else if (basePath !== '' && (path === basePath || path.startsWith(`${basePath}/`))) {
    path = path.slice(basePath.length) || '/';
  }
  let segments: string[];
  try {
    segments = path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, 'the URL is not well encoded');
  }
  return { mount, segments, query: url.searchParams, relative: path };
}

function statusParam(query: URLSearchParams): ListedStatus | null {
  const status = query.get('status');
  if (status === null || status === '') return null;
  if (!(LISTED_STATUSES as readonly string[]).includes(status)) {
    throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, `status must be one of ${LISTED_STATUSES.join(', ')}`);
  }
  return status as ListedStatus;
}

function offsetParam(query: URLSearchParams): number {
  const raw = query.get('offset') ?? '0';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, 'offset must be a whole number');
  // a page far past the end is an empty page, not a scan: ZRANGE with a large offset stays O(log n + page)
  return Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
}

function wantsJson(req: IncomingMessage): boolean {
  return req.headers[CSRF_HEADER] !== undefined || (req.headers.accept ?? '').includes('application/json');
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

function redirect(res: ServerResponse, location: string): void {
  // one leading slash: `//host` would send the browser to another site
  res.writeHead(303, { location: location.replace(/^\/+/, '/') || '/', 'cache-control': 'no-store' });
  res.end();
}
