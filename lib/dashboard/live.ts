import type { ServerResponse } from 'node:http';
import type { JobCounts } from '../job';
import type { Queue } from '../queue';
import { QueueEvents } from '../queue-events';
import { STREAM_EVENTS } from '../states';
import type { DashboardSettings } from './options';

/**
 * Live updates for browsers, as server-sent events. One QueueEvents per queue that someone is
 * watching, shared by every browser watching it, closed LINGER_MS after the last one leaves (so
 * moving from page to page does not reopen it). Events are gathered for FLUSH_MS and sent as one
 * message per queue with the queue's counts read once for all watchers: a queue doing 10,000
 * jobs a second costs each browser four small messages a second, not 40,000.
 */

const FLUSH_MS = 250;
const LINGER_MS = 2_000;
/** Comments on an idle stream, so proxies and the browser keep it open and a dead socket is noticed. */
const KEEPALIVE_MS = 20_000;
/** Job ids named per message; past it the message says `more` and pages refresh what they show. */
const JOBS_PER_MESSAGE = 100;
/** How long EventSource waits before reconnecting (its `retry:` field). */
const RECONNECT_MS = 2_000;
/** How often a queue whose subscriber lost Redis is checked for Redis being back. */
const PROBE_MS = 1_000;

/** One message to the browsers watching a queue. */
export interface QueueUpdate {
  queue: string;
  /** the dashboard server's clock, epoch ms */
  at: number;
  /** events of each type since the last message */
  events: Record<string, number>;
  /** the jobs they were about, with the last event type of each */
  jobs: [string, string][];
  /** more jobs changed than are named */
  more: boolean;
  counts: JobCounts | null;
  paused: boolean | null;
}

interface Watch {
  events: QueueEvents;
  clients: Set<ServerResponse>;
  pending: { events: Record<string, number>; jobs: Map<string, string>; more: boolean } | null;
  flushTimer: NodeJS.Timeout | null;
  lingerTimer: NodeJS.Timeout | null;
  down: boolean;
  probing: boolean;
}

export class LiveHub {
  private readonly watches = new Map<string, Watch>();
  private readonly keepalive: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly settings: DashboardSettings,
    private readonly queue: (name: string) => Queue,
  ) {
    this.keepalive = setInterval(() => this.ping(), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Turns `res` into an event stream of the queues named, until the browser goes away. */
  attach(res: ServerResponse, queues: string[]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // nginx would otherwise hold the stream back
    });
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    const downNow = queues.filter((q) => this.watches.get(q)?.down);
    send(res, 'hello', { queues, at: Date.now(), down: downNow });
    for (const name of queues) this.watch(name).clients.add(res);
    res.once('close', () => {
      for (const name of queues) this.leave(name, res);
    });
  }

  /** The dashboard itself changed a queue (retry, clean, pause...); some of these write no event to the stream. */
  notify(queue: string, type: string, jobIds: string[] = []): void {
    const watch = this.watches.get(queue);
    if (!watch) return;
    this.record(watch, type, jobIds);
  }

  /** How many queues have a subscriber open now (for tests and diagnostics). */
  get watchedQueues(): string[] {
    return [...this.watches.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepalive);
    const watches = [...this.watches.values()];
    this.watches.clear();
    for (const w of watches) {
      if (w.flushTimer) clearTimeout(w.flushTimer);
      if (w.lingerTimer) clearTimeout(w.lingerTimer);
      for (const res of w.clients) res.end();
    }
    await Promise.all(watches.map((w) => w.events.close().catch(() => undefined)));
  }

  private watch(name: string): Watch {
    const watch = this.watches.get(name);
    if (watch) {
      if (watch.lingerTimer) clearTimeout(watch.lingerTimer);
      watch.lingerTimer = null;
      return watch;
    }
    const events = new QueueEvents(name, { connection: this.settings.connection, prefix: this.settings.prefix });
    const w: Watch = { events, clients: new Set(), pending: null, flushTimer: null, lingerTimer: null, down: false, probing: false };
    for (const type of STREAM_EVENTS) {
      events.on(type, (payload: unknown, _id: string) => {
        const id = (payload as { job?: { id?: unknown } }).job?.id;
        this.record(w, type, typeof id === 'string' ? [id] : []);
      });
    }
    // events were lost: every page refreshes what it shows
    events.on('gap', () => this.record(w, 'gap', [], true));
    events.on('broker:down', (e) => {
      if (w.down) return;
      w.down = true;
      this.broadcast(w, 'broker', { queue: name, state: 'down', error: e.error, at: e.at });
      this.probe(w, e.at);
    });
    events.on('broker:up', (e) => this.markUp(w, e.at + e.downtimeMs));
    events.on('error', () => undefined); // a read that failed for another reason is retried by QueueEvents itself
    this.watches.set(name, w);
    return w;
  }

  /**
   * A subscriber learns that Redis is back only when its blocking read returns, which on a quiet
   * queue is up to its whole block time after the fact; a cheap read on the queue's own
   * connection tells sooner, so the banner goes as soon as Redis answers.
   */
  private probe(w: Watch, since: number): void {
    const timer = setInterval(async () => {
      if (!w.down || this.closed || this.watches.get(w.events.queue) !== w) return clearInterval(timer);
      if (w.probing) return;
      w.probing = true;
      try {
        await this.queue(w.events.queue).getCounts();
        clearInterval(timer);
        this.markUp(w, since);
      } catch {
        // still down: the next tick tries again
      } finally {
        w.probing = false;
      }
    }, PROBE_MS);
    timer.unref();
  }

  private markUp(w: Watch, since: number): void {
    if (!w.down) return;
    w.down = false;
    this.broadcast(w, 'broker', { queue: w.events.queue, state: 'up', downtimeMs: Date.now() - since, at: Date.now() });
    // what happened meanwhile is read again by every page
    this.record(w, 'reconnected', [], true);
  }

  private leave(name: string, res: ServerResponse): void {
    const w = this.watches.get(name);
    if (!w) return;
    w.clients.delete(res);
    if (w.clients.size > 0 || w.lingerTimer) return;
    w.lingerTimer = setTimeout(() => {
      if (w.clients.size > 0 || this.watches.get(name) !== w) return;
      this.watches.delete(name);
      if (w.flushTimer) clearTimeout(w.flushTimer);
      void w.events.close().catch(() => undefined);
    }, LINGER_MS);
    w.lingerTimer.unref();
  }

  private record(w: Watch, type: string, jobIds: string[], more = false): void {
    w.pending ??= { events: {}, jobs: new Map(), more: false };
    const p = w.pending;
    p.events[type] = (p.events[type] ?? 0) + 1;
    for (const id of jobIds) {
      if (p.jobs.size < JOBS_PER_MESSAGE || p.jobs.has(id)) p.jobs.set(id, type);
      else p.more = true;
    }
    if (more) p.more = true;
    w.flushTimer ??= setTimeout(() => void this.flush(w), FLUSH_MS);
  }

  private async flush(w: Watch): Promise<void> {
    w.flushTimer = null;
    const p = w.pending;
    w.pending = null;
    if (!p || this.closed) return;
    const name = w.events.queue;
    let counts: JobCounts | null = null;
    let paused: boolean | null = null;
    if (w.clients.size > 0) {
      try {
        const queue = this.queue(name);
        [counts, paused] = await Promise.all([queue.getCounts(), queue.isPaused()]);
      } catch {
        // the message still says what changed; the page shows counts again with the next one
      }
    }
    const update: QueueUpdate = { queue: name, at: Date.now(), events: p.events, jobs: [...p.jobs], more: p.more, counts, paused };
    this.broadcast(w, 'queue', update);
  }

  private broadcast(w: Watch, event: string, data: unknown): void {
    for (const res of w.clients) send(res, event, data);
  }

  private ping(): void {
    const seen = new Set<ServerResponse>();
    for (const w of this.watches.values()) {
      for (const res of w.clients) {
        if (seen.has(res)) continue;
        seen.add(res);
        res.write(': keepalive\n\n');
      }
    }
  }
}

/** JSON never holds a raw newline, so one `data:` line carries the whole message. */
function send(res: ServerResponse, event: string, data: unknown): void {
  if (res.writableEnded) return;
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
