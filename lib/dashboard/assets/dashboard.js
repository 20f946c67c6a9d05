// brokkr dashboard, client side: live updates over server-sent events, actions posted with fetch,
// charts drawn as SVG. Plain script, no framework, nothing from another origin. Everything that
// came from a queue (names, ids, data, errors, logs) is put on the page with textContent or
// attributes, never parsed as HTML: the server formats it, this script only places it.
(() => {
  // biome-ignore lint/suspicious/noRedundantUseStrict: a classic script, not a module, so strict mode is not implied
  'use strict';

  const body = document.body;
  const base = body.dataset.base || '';
  const kind = body.dataset.kind;
  const live = JSON.parse(body.dataset.live || '[]');
  const csrf = body.dataset.csrf || '';
  const pageQueue = body.dataset.queue || '';
  const pageJob = body.dataset.job || '';
  const charts = window.brokkrCharts; // charts.js, loaded before this script

  // ---- small helpers ----

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  const fmt = (n) => Number(n).toLocaleString('en');
  const seg = (text) => encodeURIComponent(text).replace(/\./g, '%2E');

  async function getJson(path) {
    const res = await fetch(`${base}/api${path}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    const out = await res.json().catch(() => null);
    if (!res.ok) {
      const error = new Error(out?.error?.message || `HTTP ${res.status}`);
      error.status = res.status;
      throw error;
    }
    return out;
  }

  function statusBadge(status) {
    return el('span', { class: `status s-${status}` }, status);
  }

  // ---- banner and notices ----

  const banner = document.getElementById('banner');
  const liveMark = document.getElementById('live');
  const noticeBox = document.getElementById('notice');
  let serverDown = false;
  const brokerDown = new Map(); // queue -> error text
  let noticeTimer = null;

  function showState() {
    let text = '';
    if (serverDown) text = 'Disconnected from the dashboard server, retrying…';
    else if (brokerDown.size > 0) text = `Redis is unreachable (${[...brokerDown.values()][0]}), retrying…`;
    banner.textContent = text;
    banner.hidden = text === '';
    if (liveMark && live.length > 0) {
      const on = !serverDown && brokerDown.size === 0;
      liveMark.textContent = on ? 'live' : 'reconnecting…';
      liveMark.classList.toggle('on', on);
    }
  }

  function notice(text, bad) {
    noticeBox.textContent = text;
    noticeBox.classList.toggle('bad', Boolean(bad));
    noticeBox.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      noticeBox.hidden = true;
    }, 8000);
  }

  // ---- counts, paused state, timings ----

  /** The part of the page that belongs to a queue: its overview row, or the whole page of a queue or job. */
  function scopes(queue) {
    if (kind === 'overview') return [...document.querySelectorAll('tr[data-queue]')].filter((r) => r.dataset.queue === queue);
    return queue === pageQueue ? [document] : [];
  }

  function showCounts(queue, counts) {
    for (const scope of scopes(queue)) {
      for (const cell of scope.querySelectorAll('[data-count]')) {
        const n = counts[cell.dataset.count];
        if (n === undefined) continue;
        cell.textContent = fmt(n);
        if (cell.dataset.count === 'failed' && cell.tagName === 'TD') cell.classList.toggle('bad', n > 0);
      }
    }
  }

  function showPaused(queue, paused) {
    for (const scope of scopes(queue)) {
      for (const badge of scope.querySelectorAll('[data-paused]')) badge.hidden = !paused;
    }
    if (queue === pageQueue && kind === 'queue') {
      toggleForm('pause', !paused);
      toggleForm('resume', paused);
    }
  }

  function showSummary(s) {
    showCounts(s.name, s.counts);
    showPaused(s.name, s.paused);
    charts.set(s.name, s.chart);
    for (const scope of scopes(s.name)) {
      for (const node of scope.querySelectorAll('[data-wait]')) node.textContent = `${s.wait.p50} / ${s.wait.p95} / ${s.wait.p99}`;
      for (const node of scope.querySelectorAll('[data-run]')) node.textContent = `${s.run.p50} / ${s.run.p95} / ${s.run.p99}`;
      for (const node of scope.querySelectorAll('[data-totals]'))
        node.textContent = `${fmt(s.completed)} completed / ${fmt(s.failed)} failed`;
    }
  }

  function toggleForm(name, visible) {
    for (const form of document.querySelectorAll('form.action')) if (form.dataset.name === name) form.hidden = !visible;
  }

  // ---- overview: supervisors ----

  function showWorkers(workers) {
    const tbody = document.getElementById('workers');
    if (!tbody) return;
    const td = (text, cls) => el('td', cls ? { class: cls } : {}, String(text));
    tbody.replaceChildren(
      ...workers.map((w) =>
        el(
          'tr',
          { class: w.stale ? 'stale' : null, title: w.id },
          td(w.host),
          td(w.pid, 'num'),
          td(w.queues),
          td(w.concurrency, 'num'),
          td(w.threads, 'num'),
          td(w.running, 'num'),
          td(fmt(w.completed), 'num'),
          td(fmt(w.failed), w.failed > 0 ? 'num bad' : 'num'),
          td(w.up),
          td(w.lastBeat),
        ),
      ),
    );
    document.getElementById('workers-empty').hidden = workers.length > 0;
    document.getElementById('workers-table').hidden = workers.length === 0;
  }

  async function refreshOverview() {
    const data = await getJson('/overview');
    const shown = new Set(live);
    if (data.queues.length !== shown.size || data.queues.some((q) => !shown.has(q.name))) {
      location.reload(); // a queue appeared or went away: the table and the stream both change
      return;
    }
    for (const q of data.queues) showSummary(q);
    showWorkers(data.workers);
  }

  // ---- a queue: its list of jobs ----

  const jobsBody = document.getElementById('jobs');

  function jobRow(r) {
    return el(
      'tr',
      { 'data-id': r.id },
      el('td', { class: 'id' }, el('a', { href: r.href }, r.id)),
      el('td', {}, r.name),
      el('td', {}, statusBadge(r.status)),
      el('td', { class: 'num' }, r.attempts),
      el('td', {}, r.enqueued),
      el('td', {}, r.when),
      el('td', { class: 'note' }, r.note),
    );
  }

  async function refreshJobs() {
    const status = jobsBody.dataset.status;
    const offset = Number(jobsBody.dataset.offset);
    const data = await getJson(`/queues/${seg(pageQueue)}/jobs?status=${status}&offset=${offset}`);
    jobsBody.replaceChildren(...data.rows.map(jobRow));
    document.getElementById('jobs-empty').hidden = data.rows.length > 0;
    const range = document.querySelector('[data-range]');
    if (range) {
      const from = data.total === 0 ? 0 : Math.min(offset + 1, data.total);
      range.firstChild.textContent = `${fmt(from)}–${fmt(Math.min(offset + data.rows.length, data.total))} of `;
    }
  }

  async function refreshQueue() {
    showSummary(await getJson(`/queues/${seg(pageQueue)}`));
    await refreshJobs();
  }

  // ---- a job ----

  function fill(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  function showPart(name, visible) {
    const part = document.querySelector(`section[data-part="${name}"]`);
    if (part) part.hidden = !visible;
  }

  function linkItem(l) {
    return el('li', {}, el('a', { href: l.href }, l.label), l.status ? ' ' : null, l.status ? statusBadge(l.status) : null);
  }

  function showJob(j) {
    const status = document.querySelector('[data-field="status"]');
    status.textContent = j.status;
    status.className = `status s-${j.status}`;
    for (const name of ['retry', 'cancel', 'remove']) toggleForm(name, j.actions[name]);
    showPart('error', j.error !== null);
    fill('job-error-title', j.error ? j.error.title : '');
    fill('job-error', j.error ? j.error.frames : '');
    showPart('tries', j.tries.length > 0);
    document
      .getElementById('job-tries')
      .replaceChildren(
        ...j.tries.map((t) => el('li', {}, el('details', {}, el('summary', {}, t.title), el('pre', { class: 'stack' }, t.stack)))),
      );
    document.getElementById('job-facts').replaceChildren(...j.facts.flatMap(([label, text]) => [el('dt', {}, label), el('dd', {}, text)]));
    showPart('progress', j.progress !== '');
    const progressBar = document.getElementById('job-progress-bar');
    progressBar.hidden = j.progressFraction === null;
    progressBar.value = j.progressFraction ?? 0;
    fill('job-progress', j.progress);
    fill('job-data', j.data);
    showPart('result', j.result !== '');
    fill('job-result', j.result);
    showPart('logs', j.logs.length > 0);
    fill('job-logs', j.logs.join('\n'));
    showPart('deps', j.dependsOn.length > 0);
    document.getElementById('job-deps').replaceChildren(...j.dependsOn.map(linkItem));
    fill('job-policy', j.policy);
    showPart('dependents', j.dependents !== null);
    document.getElementById('job-dependents').replaceChildren(...(j.dependents || []).map(linkItem));
  }

  async function refreshJob() {
    try {
      showJob(await getJson(`/queues/${seg(pageQueue)}/jobs/${seg(pageJob)}`));
    } catch (err) {
      if (err.status !== 404) throw err;
      const status = document.querySelector('[data-field="status"]');
      status.textContent = 'gone';
      status.className = 'status s-gone';
      for (const name of ['retry', 'cancel', 'remove']) toggleForm(name, false);
      notice('This job no longer exists: it was removed, or its record expired.', true);
    }
  }

  // ---- refreshing, at most one at a time per kind, coalesced ----

  const refreshers = { overview: refreshOverview, queue: refreshQueue, job: refreshJob };
  const running = new Map();

  function refresh(what, delayMs) {
    const fn = what === 'jobs' ? refreshJobs : refreshers[what];
    if (!fn || running.has(what)) return;
    running.set(
      what,
      setTimeout(async () => {
        try {
          await fn();
        } catch (err) {
          if (err.status === 401 || err.status === 403) notice(`Not allowed: ${err.message}`, true);
        } finally {
          running.delete(what);
        }
      }, delayMs || 0),
    );
  }

  // ---- live events ----

  function onQueueUpdate(u) {
    if (u.counts) showCounts(u.queue, u.counts);
    if (u.paused !== null) showPaused(u.queue, u.paused);
    charts.add(u.queue, u.at, u.events.completed || 0, u.events.failed || 0);
    if (u.queue !== pageQueue) return;
    if (kind === 'queue' && (u.jobs.length > 0 || u.more)) refresh('jobs', 300);
    if (kind === 'job' && (u.more || u.jobs.some(([id]) => id === pageJob))) refresh('job', 0);
  }

  let source = null;
  let everConnected = false;

  function connect() {
    if (live.length === 0) return;
    source = new EventSource(`${base}/api/events?${live.map((q) => `queue=${encodeURIComponent(q)}`).join('&')}`);
    source.addEventListener('hello', (e) => {
      const hello = JSON.parse(e.data);
      serverDown = false;
      brokerDown.clear();
      for (const q of hello.down) brokerDown.set(q, 'not answering');
      showState();
      // whatever happened while the stream was down is read again
      if (everConnected) refresh(kind, 0);
      everConnected = true;
    });
    source.addEventListener('queue', (e) => onQueueUpdate(JSON.parse(e.data)));
    source.addEventListener('broker', (e) => {
      const b = JSON.parse(e.data);
      if (b.state === 'down') brokerDown.set(b.queue, b.error);
      else brokerDown.delete(b.queue);
      showState();
      if (b.state === 'up') refresh(kind, 0);
    });
    source.onerror = () => {
      serverDown = true;
      showState();
      // EventSource retries by itself unless the server refused the stream (a restart without the cookie's token, say)
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  // ---- actions ----

  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('action')) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'x-brokkr-csrf': csrf, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form)),
      });
      const out = await res.json().catch(() => null);
      if (!res.ok) {
        notice(out?.error?.message || `The action failed (HTTP ${res.status}).`, true);
        return;
      }
      notice(out.message);
      if (form.dataset.name === 'remove') location.assign(out.redirect);
      else if (form.action.endsWith('/limits')) location.reload();
      // the rest shows up through the live stream; without it, read the page's data again
      else if (serverDown || !source) refresh(kind, 0);
    } catch (err) {
      notice(`The request failed: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  });

  // ---- start ----

  connect();
  // what no event announces (records expiring, supervisors' heartbeats, ages): read again now and then
  const every = { overview: 5000, queue: 10000, job: 15000 }[kind];
  if (every) {
    setInterval(() => {
      if (document.visibilityState === 'visible') refresh(kind, 0);
    }, every);
  }
})();
