import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createDashboard, type DashboardHandler, type DashboardOptions, type Queue, type Supervisor } from '../lib';
import { checkActionAllowed, checkReadAccess, csrfTokenFor, isLoopbackHost, parseCookies, tokensEqual } from '../lib/dashboard/auth';
import type { DashboardHttpError } from '../lib/dashboard/errors';
import { escapeHtml, html, joinHtml, pathSegment, SafeHtml } from '../lib/dashboard/html';
import { resolveDashboardOptions } from '../lib/dashboard/options';
import { locate } from '../lib/dashboard/router';
import { startEphemeralRedis } from '../scripts/ephemeral-redis';
import { connection, connectionNames, fixture, Harness, waitFor } from './support/helpers';

/**
 * The web dashboard, end to end in Debian's chromium (driven by playwright-core) against the
 * suite's Redis, plus its escaping and auth helpers on their own. Each dashboard here lists only
 * the queues of its own key prefix, so other spec files' queues never show up. The overview and
 * job tests also write the README's screenshots (docs/dashboard-*.png).
 */

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '..');
const DOCS = join(ROOT, 'docs');
const TOKEN = 'test-token-0123456789abcdef';
const SECRET = 'a-csrf-secret-of-at-least-32-bytes!!';
const h = new Harness();

// browser globals, for the functions that run in the page (the suite's TypeScript has no DOM types)
declare const window: Record<string, unknown>;
declare const document: {
  getElementById(id: string): { textContent: string | null; hidden: boolean } | null;
  querySelector(selector: string): { textContent: string | null } | null;
  scripts: { length: number };
};

interface Served {
  url: string;
  port: number;
  handler: DashboardHandler;
  server: Server;
  close(): Promise<void>;
}

const served: Served[] = [];

async function serve(options: DashboardOptions, host = '127.0.0.1', port = 0): Promise<Served> {
  const handler = createDashboard({ connection: connection(), ...options });
  return listen(handler, handler, host, port);
}

async function listen(
  handler: DashboardHandler,
  serveRequest: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
  port = 0,
): Promise<Served> {
  const server = createServer(serveRequest);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as AddressInfo).port;
  const s: Served = {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    handler,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  served.push(s);
  return s;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

/** A request as the auth helpers see it. */
function fakeRequest(headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

afterAll(async () => {
  await Promise.all(served.map((s) => s.close().catch(() => undefined)));
  await Promise.all(served.map((s) => s.handler.close()));
  await h.closeAll();
});

describe('escaping and auth helpers', () => {
  it('escapes every interpolated value, lists included, and passes only its own markup through', () => {
    const evil = `<script>alert("x")</script>&'`;
    expect(escapeHtml(evil)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    const page = html`<p title="${evil}">${evil}${[evil, html`<b>${evil}</b>`]}${null}${undefined}${false}${42}</p>`;
    expect(page.value).not.toContain('<script>');
    expect(page.value).toContain('<b>&lt;script&gt;');
    expect(page.value).toContain('42</p>');
    expect(joinHtml(['<i>', html`<br>`], ', ').value).toBe('&lt;i&gt;, <br>');
    // nothing but the template can vouch for a string
    expect(() => new SafeHtml(Symbol('forged'), '<script></script>')).toThrow(TypeError);
    expect(pathSegment('a/b?c#d..')).toBe('a%2Fb%3Fc%23d%2E%2E');
  });

  it('compares tokens in constant time, reads cookies, and knows loopback hosts', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokensEqual('', TOKEN)).toBe(false);
    expect(parseCookies('a=1; brokkr_dashboard_token=x%20y; bad=%E0%A4%A').get('brokkr_dashboard_token')).toBe('x y');
    for (const host of ['localhost:7777', '127.0.0.1', '127.1.2.3:80', '[::1]:7777', 'app.localhost'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['evil.example', '10.0.0.1:7777', 'localhost.evil.example', '[::2]']) expect(isLoopbackHost(host)).toBe(false);
  });

  it('lets a request read only with the token, or without one only over loopback to a loopback host', () => {
    const withToken = { token: TOKEN, allowUnauthenticatedRemote: false };
    const code = (f: () => void) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return (err as DashboardHttpError).status;
      }
    };
    expect(code(() => checkReadAccess(fakeRequest({}), withToken, null))).toBe(401);
    expect(code(() => checkReadAccess(fakeRequest({ authorization: `Bearer ${TOKEN}` }), withToken, null))).toBe('ok');
    expect(code(() => checkReadAccess(fakeRequest({ authorization: 'Bearer nope' }), withToken, null))).toBe(401);
    expect(code(() => checkReadAccess(fakeRequest({ cookie: `brokkr_dashboard_token=${TOKEN}` }), withToken, null))).toBe('ok');
    expect(code(() => checkReadAccess(fakeRequest({}), withToken, TOKEN))).toBe('ok');
    const none = { token: null, allowUnauthenticatedRemote: false };
    expect(code(() => checkReadAccess(fakeRequest({ host: 'localhost:7777' }), none, null))).toBe('ok');
    expect(code(() => checkReadAccess(fakeRequest({ host: 'evil.example:7777' }), none, null))).toBe(403); // DNS rebinding
    expect(code(() => checkReadAccess(fakeRequest({ host: '10.0.0.5:7777' }, '10.0.0.9'), none, null))).toBe(403);
    const csrf = csrfTokenFor(Buffer.from(SECRET));
    const post = (headers: Record<string, string>, formToken: string | null = null, readOnly = false) =>
      code(() => checkActionAllowed(fakeRequest({ host: 'localhost:7777', ...headers }), readOnly, csrf, formToken));
    expect(post({ 'x-brokkr-csrf': csrf })).toBe('ok');
    expect(post({ origin: 'http://localhost:7777' }, csrf)).toBe('ok');
    expect(post({})).toBe(403);
    expect(post({ 'x-brokkr-csrf': 'wrong' })).toBe(403);
    expect(post({ 'x-brokkr-csrf': csrf, origin: 'http://evil.example' })).toBe(403);
    expect(post({ 'x-brokkr-csrf': csrf, 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(post({ 'x-brokkr-csrf': csrf }, null, true)).toBe(403);
  });

  it('finds its mount from basePath or from what Express stripped, and checks its options', () => {
    const req = (url: string, originalUrl?: string) => ({ url, originalUrl, headers: {} }) as unknown as IncomingMessage;
    expect(locate(req('/admin/queues/a%2Fb/jobs/1?x=1'), '/admin')).toMatchObject({
      mount: '/admin',
      segments: ['queues', 'a/b', 'jobs', '1'],
    });
    expect(locate(req('/queues/q', '/ops/dash/queues/q'), '')).toMatchObject({ mount: '/ops/dash', segments: ['queues', 'q'] });
    expect(locate(req('/', '/ops/dash'), '')).toMatchObject({ mount: '/ops/dash', segments: [] });
    expect(locate(req('/'), '')).toMatchObject({ mount: '', segments: [] });
    expect(() => resolveDashboardOptions({ token: 'short' })).toThrow(/at least 16 characters/);
    expect(() => resolveDashboardOptions({ colour: 'red' } as DashboardOptions)).toThrow(/unknown option "colour"/);
    expect(resolveDashboardOptions({ basePath: 'admin/queues/' }).basePath).toBe('/admin/queues');
  });
});

describe('in a browser', () => {
  let browser: Browser;
  let prefix: string;
  let emails: Queue;
  let reports: Queue;
  let supervisor: Supervisor;
  let dash: Served;
  let failedId: string;

  beforeAll(async () => {
    // a missing browser fails the suite: .ci/run installs it with apt
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    const launching = chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    prefix = `dash-${randomBytes(4).toString('hex')}`;
    emails = h.queue('emails', { prefix });
    reports = h.queue('reports', { prefix });
    supervisor = h.supervisor({ prefix, queues: ['emails'], handlers: fixture('dashboard-handlers'), threads: 1, heartbeatMs: 500 });
    await supervisor.start();
    const sends = await emails.enqueueBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'send', data: { to: `user${i}@example.com` } })));
    const charges = await emails.enqueueBulk(
      [7, 8].map((n) => ({ name: 'charge', data: { order: `A-10${n}`, amount: n * 10 }, opts: { attempts: 2 } })),
    );
    await Promise.all([...sends, ...charges].map((j) => emails.waitForResult(j.id, { timeoutMs: 20_000 }).catch(() => undefined)));
    failedId = charges[0]!.id;
    await reports.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'monthly', data: { month: i + 1 } })));
    await reports.enqueue('monthly', { month: 12 }, { delayMs: 3_600_000 });
    await reports.schedule('nightly', { cron: '30 2 * * *', tz: 'Europe/Berlin' }, 'nightly-report', {});
    await reports.setRateLimit({ max: 10, durationMs: 60_000 });
    dash = await serve({ prefix, csrfSecret: SECRET });
    browser = await launching;
    mkdirSync(DOCS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(path: string, base = dash.url): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${base}${path}`);
    return page;
  }

  const waitLive = (page: Page) => page.waitForFunction(() => document.getElementById('live')?.textContent === 'live');
  const cell = (page: Page, queue: string, status: string) => page.locator(`tr[data-queue="${queue}"] [data-count="${status}"]`);
  const jobPath = (queue: string, id: string) => `/queues/${pathSegment(queue)}/jobs/${pathSegment(id)}`;

  it('the overview shows each queue of the prefix with counts, a live chart and the supervisors', async () => {
    const page = await open('/');
    await waitLive(page);
    expect(await cell(page, 'emails', 'completed').textContent()).toBe('12');
    expect(await cell(page, 'emails', 'failed').textContent()).toBe('2');
    expect(await cell(page, 'reports', 'queued').textContent()).toBe('5');
    expect(await cell(page, 'reports', 'delayed').textContent()).toBe('2'); // the delayed job and the schedule's tick
    expect(await page.locator('tr[data-queue="emails"] svg.chart rect.c').count()).toBeGreaterThan(0);
    expect(await page.locator('#workers').textContent()).toContain(String(process.pid));
    // a job completing now reaches the page through the live stream, without a reload
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    await emails.enqueue('send', { to: 'late@example.com' });
    await page.waitForFunction(() => document.querySelector('tr[data-queue="emails"] [data-count="completed"]')?.textContent === '13');
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
    await page.screenshot({ path: join(DOCS, 'dashboard-overview.png'), fullPage: true });
    await page.close();
  });

  it("a job's page shows its error with the stack, each failed try, its progress and logs", async () => {
    const page = await open(jobPath('emails', failedId));
    await waitLive(page);
    expect(await page.locator('[data-field="status"]').textContent()).toBe('failed');
    expect(await page.locator('#job-error-title').textContent()).toBe('Error: card declined for order A-107: insufficient funds');
    expect(await page.locator('#job-error').textContent()).toMatch(/^\s+at charge \(.*dashboard-handlers\.ts:\d+:\d+\)\n/);
    expect(await page.locator('#job-tries li').count()).toBe(2);
    expect(await page.locator('#job-logs').textContent()).toContain('charging 70 for order A-107');
    expect(await page.locator('#job-progress').textContent()).toContain('"total": 3');
    await page.screenshot({ path: join(DOCS, 'dashboard-job.png'), fullPage: true });
    await page.close();
  });

  it('Retry puts a failed job back to queued, and the page follows through the live stream without a reload', async () => {
    await supervisor.close(); // nobody runs it again, so it stays queued
    const page = await open(jobPath('emails', failedId));
    await waitLive(page);
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    await page.locator('form[data-name="retry"] button').click();
    await page.waitForFunction(() => document.querySelector('[data-field="status"]')?.textContent === 'queued', null, { timeout: 10_000 });
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
    expect((await emails.getJob(failedId))?.status).toBe('queued');
    expect(await page.locator('form[data-name="retry"]').isHidden()).toBe(true);
    expect(await page.locator('form[data-name="cancel"]').isVisible()).toBe(true);
    await page.close();
  });

  it('shows job data and queue names that hold markup as text: no script of theirs runs', async () => {
    const name = `x<img/src=x/onerror=window.__pwned=2>${randomBytes(3).toString('hex')}`;
    const queue = h.queue(name, { prefix });
    const job = await queue.enqueue('<b>render</b>', {
      note: '<script>window.__pwned = 1</script>',
      img: '<img src=x onerror="window.__pwned = 3">',
    });
    const page = await open('/');
    for (const path of ['/', `/queues/${pathSegment(name)}`, jobPath(name, job.id)]) {
      await page.goto(`${dash.url}${path}`);
      expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
      expect(await page.evaluate(() => document.scripts.length)).toBe(2); // the dashboard's own, from its origin
      expect(await page.locator('main img').count()).toBe(0);
      if (path !== '/') expect(await page.locator('.crumbs').textContent()).toContain(name);
      if (path === jobPath(name, job.id)) {
        expect(await page.locator('#job-data').textContent()).toContain('<script>window.__pwned = 1</script>');
        expect(await page.locator('[data-field="name"]').textContent()).toBe('<b>render</b>');
      }
    }
    await page.close();
  });

  it('one subscriber per queue, shared by every browser watching it, closed once nobody is', async () => {
    const name = `${prefix}:events:reports`;
    const subscribers = async () => (await connectionNames()).filter((n) => n === name || n.startsWith(`${name}:`)).length;
    // a subscriber's connections come up one by one (a cluster client reaches every node, the
    // blocking read connects on first use): count them once the number holds still
    const settled = async () => {
      let last = -1;
      for (;;) {
        const now = await subscribers();
        if (now === last && now > 0 && (await connectionNames()).some((n) => n.startsWith(`${name}:`))) return now;
        last = now;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const first = await open('/queues/reports');
    await waitLive(first);
    const one = await settled();
    const second = await open('/queues/reports');
    await waitLive(second);
    expect(await settled()).toBe(one);
    await Promise.all([first.close(), second.close()]);
    await waitFor(async () => (await subscribers()) === 0, 15_000, 'the queue events subscriber to close');
  });

  it('shows a banner while Redis or the dashboard server is away, and recovers by itself', async () => {
    const redis = await startEphemeralRedis();
    try {
      const own = await serve({ connection: redis.url, queues: ['outage'] });
      const page = await open('/queues/outage', own.url);
      await waitLive(page);
      const banner = page.locator('#banner');
      redis.signal('SIGKILL');
      await page.waitForFunction(() => /Redis is unreachable/.test(document.getElementById('banner')?.textContent ?? ''), null, {
        timeout: 15_000,
      });
      await redis.restart();
      await page.waitForFunction(() => document.getElementById('banner')?.hidden === true, null, { timeout: 15_000 });
      await own.close(); // the dashboard server goes away
      await page.waitForFunction(() => /Disconnected from the dashboard server/.test(document.getElementById('banner')?.textContent ?? ''));
      await listen(own.handler, own.handler, '127.0.0.1', own.port); // and comes back on its port
      await waitLive(page);
      expect(await banner.isHidden()).toBe(true);
      await page.close();
    } finally {
      await redis.stop();
    }
  });
});

describe('over HTTP', () => {
  let prefix: string;
  let queue: Queue;
  let failedId: string;

  beforeAll(async () => {
    prefix = `dash-${randomBytes(4).toString('hex')}`;
    queue = h.queue('jobs', { prefix });
    const supervisor = h.supervisor({ prefix, queues: ['jobs'], handlers: fixture('dashboard-handlers'), threads: 1 });
    await supervisor.start();
    const job = await queue.enqueue('charge', { order: 'B-1', amount: 5 });
    await queue.waitForResult(job.id, { timeoutMs: 20_000 }).catch(() => undefined);
    failedId = job.id;
    await supervisor.close();
  });

  it('bound beyond loopback with a token: no token or a wrong one is refused, the right one is let in', async () => {
    const d = await serve({ prefix, token: TOKEN }, '0.0.0.0');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
    for (const host of ['127.0.0.1', ...(external ? [external] : [])]) {
      const url = `http://${host}:${d.port}`;
      expect((await http(`${url}/`)).status).toBe(401);
      expect((await http(`${url}/api/overview`)).status).toBe(401);
      expect((await http(`${url}/api/overview`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
      expect((await http(`${url}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      const first = await http(`${url}/queues/jobs?token=${TOKEN}&status=failed`);
      expect(first.status).toBe(303);
      expect(first.headers.location).toBe('/queues/jobs?status=failed'); // the token leaves the address bar
      const cookie = String(first.headers['set-cookie']);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const page = await http(`${url}/queues/jobs?status=failed`, { headers: { cookie: cookie.split(';')[0]! } });
      expect(page.status).toBe(200);
      expect(page.body).toContain(failedId);
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    }
    // without a token, the same bind answers loopback only, and only to a loopback host name
    const open = await serve({ prefix }, '0.0.0.0');
    expect((await http(`${open.url}/`)).status).toBe(200);
    expect((await http(`${open.url}/`, { headers: { host: 'rebound.example' } })).status).toBe(403);
    if (external) expect((await http(`http://${external}:${open.port}/`)).status).toBe(403);
  });

  it('the CLI refuses to bind beyond loopback without a token', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.BROKKR_DASHBOARD_TOKEN;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'lib', 'cli', 'main.ts'), '--redis', 'redis://127.0.0.1:1', 'dashboard', '--host', '0.0.0.0'],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^brokkr: binding to 0\.0\.0\.0 exposes the dashboard .* --token or BROKKR_DASHBOARD_TOKEN/);
  });

  it('refuses an action without the CSRF token or from another origin, and runs it with both', async () => {
    const d = await serve({ prefix, csrfSecret: SECRET });
    const csrf = csrfTokenFor(Buffer.from(SECRET));
    const pause = (headers: Record<string, string>, body = '') =>
      http(`${d.url}/queues/jobs/pause`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
    expect((await pause({})).status).toBe(403);
    expect((await pause({ 'x-brokkr-csrf': 'forged' })).status).toBe(403);
    expect((await pause({ 'x-brokkr-csrf': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect(await queue.isPaused()).toBe(false);
    const ok = await pause({ 'x-brokkr-csrf': csrf, origin: d.url });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true });
    expect(await queue.isPaused()).toBe(true);
    // a form posted without the client script: the token in the body, answered with a redirect back
    const resumed = await http(`${d.url}/queues/jobs/resume`, {
      method: 'POST',
      headers: { 'content-type': FORM, origin: d.url },
      body: form({ _csrf: csrf }),
    });
    expect(resumed.status).toBe(303);
    expect(resumed.headers.location).toBe('/queues/jobs');
    expect(await queue.isPaused()).toBe(false);
  });

  it('read-only shows no action and refuses every one with 403', async () => {
    const d = await serve({ prefix, readOnly: true, csrfSecret: SECRET });
    const page = await http(`${d.url}${`/queues/jobs/jobs/${failedId}`}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('card declined');
    expect(page.body).not.toMatch(/<form[^>]*method="post"/);
    const retry = await http(`${d.url}/queues/jobs/jobs/${failedId}/retry`, {
      method: 'POST',
      headers: { 'content-type': FORM, 'x-brokkr-csrf': csrfTokenFor(Buffer.from(SECRET)) },
    });
    expect(retry.status).toBe(403);
    expect(JSON.parse(retry.body).error.message).toMatch(/read-only/);
    expect((await queue.getJob(failedId))?.status).toBe('failed');
  });

  it("links a job's dependencies both ways while the data has them, finds a job by id, and 404s an unknown queue", async () => {
    const d = await serve({ prefix });
    const first = await queue.enqueue('send', {}, { jobId: `dep.${randomBytes(3).toString('hex')}` }); // a dot, encoded in links
    const dependent = await queue.enqueue('send', {}, { dependsOn: [first.id] });
    const json = async (id: string) => JSON.parse((await http(`${d.url}/api/queues/jobs/jobs/${pathSegment(id)}`)).body);
    const down = await json(dependent.id);
    expect(down.status).toBe('deferred');
    expect(down.dependsOn).toEqual([{ label: first.id, href: `/queues/jobs/jobs/${pathSegment(first.id)}`, status: 'queued' }]);
    const up = await json(first.id);
    expect(up.dependents).toEqual([{ label: dependent.id, href: `/queues/jobs/jobs/${dependent.id}`, status: '' }]);
    const found = await http(`${d.url}/queues/jobs?id=${encodeURIComponent(first.id)}`);
    expect(found.status).toBe(303);
    expect(found.headers.location).toBe(`/queues/jobs/jobs/${pathSegment(first.id)}`);
    const missing = await http(`${d.url}/queues/jobs?id=no-such-job`);
    expect(missing.body).toContain('No job with id no-such-job in jobs');
    // a queue with no key under the prefix is not found (and opens no connection)
    expect((await http(`${d.url}/queues/no-such-queue`)).status).toBe(404);
    expect((await http(`${d.url}/api/events?queue=no-such-queue`)).status).toBe(404);
  });

  it('mounts under a path: with basePath on plain http, and when Express strips the path into originalUrl', async () => {
    const plain = await serve({ prefix, basePath: '/admin/queues' });
    const page = await http(`${plain.url}/admin/queues/queues/jobs?status=failed`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`href="/admin/queues/queues/jobs/jobs/${failedId}"`);
    expect(page.body).toContain('src="/admin/queues/assets/dashboard.js?v=');
    expect((await http(`${plain.url}/admin/queues/assets/dashboard.js`)).status).toBe(200);
    // what Express's app.use('/ops', handler) hands a handler
    const handler = createDashboard({ connection: connection(), prefix });
    const express = await listen(handler, (req, res) => {
      if (!req.url?.startsWith('/ops')) return void res.writeHead(404).end();
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url.slice('/ops'.length) || '/';
      handler(req, res);
    });
    const mounted = await http(`${express.url}/ops/queues/jobs?status=failed`);
    expect(mounted.status).toBe(200);
    expect(mounted.body).toContain(`href="/ops/queues/jobs/jobs/${failedId}"`);
    expect(JSON.parse((await http(`${express.url}/ops/api/queues/jobs`)).body).counts.failed).toBe(1);
  });
});
