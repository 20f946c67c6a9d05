import { mapLimited } from '../map-limited';
import { discoverQueues } from '../redis/discover';
import { checkQueueName } from '../config';
import { BrokerUnavailableError, ValidationError } from '../errors';
import type { JobInfo } from '../job';
import { Queue } from '../queue';
import { createConnection, disconnect, type RedisClient } from '../redis/connection';
import { parseDepRef, queueKeys } from '../redis/keys';
import type { ListedStatus } from '../states';
import { DashboardErrorCodes, DashboardHttpError } from './errors';
import type { DashboardSettings } from './options';
import {
  jobRowView,
  jobView,
  type JobRowView,
  type JobView,
  type LinkView,
  jobHref,
  type Links,
  type QueueSummaryView,
  queueSummaryView,
  type ScheduleView,
  scheduleView,
  type WorkerView,
  workerView,
} from './views';

/**
 * Every read the pages make, each O(page size) in Redis whatever the backlog: counts are ZCARDs,
 * listings ZRANGE one page, metrics read the hour's 61 small hashes in one pipeline. The one
 * exception is finding the queues when none were named (a SCAN of the keyspace, as `brokkr info`
 * does): its answer is shared by every request and looked for again in the background once it
 * is DISCOVERY_TTL_MS old.
 */

/** A person is waiting: give up on Redis after this, and say so, instead of the library's 10 s. */
const DASHBOARD_BROKER_WAIT_MS = 3_000;
const DISCOVERY_TTL_MS = 10_000;
/** Least time between two looks forced by a queue name not found. */
const REDISCOVER_MS = 2_000;
/** Queues read at once for the overview: each read is a few round trips on the queue's own connection. */
const QUEUES_IN_FLIGHT = 8;
/** Dependencies looked up for their status on a job's page; a job may have 1,000. */
const DEPENDENCIES_SHOWN = 50;
export const PAGE_SIZE = 50;

export interface QueuePageData {
  summary: QueueSummaryView;
  status: ListedStatus;
  offset: number;
  rows: JobRowView[];
  flow: { rateLimit: string; concurrency: string; groupLimits: string; rateMax: string; rateMs: string; concurrencyValue: string };
  schedules: ScheduleView[];
}

export class DashboardData {
  private readonly queues = new Map<string, Queue>();
  private discovered: { at: number; names: Promise<string[]> } | null = null;
  private discovering = false;
  private lastForced = 0;
  private admin: RedisClient | null = null;
  private closed = false;

  constructor(private readonly settings: DashboardSettings) {}

  /**
   * Resolves when `name` is a queue this dashboard shows: one named in the options, or one found
   * under the prefix (looked for again, at most every REDISCOVER_MS, when a name is not among the
   * last found). Every URL naming a queue passes here first, so a typo is a 404 rather than an
   * empty page, and made-up names cannot open a connection each.
   */
  async checkQueue(name: string): Promise<void> {
    this.queue(name); // the name's own checks, and the configured list
    if (this.settings.queues !== null || (await this.listQueues()).includes(name)) return;
    if (Date.now() - this.lastForced >= REDISCOVER_MS) {
      this.lastForced = Date.now();
      this.discovered = null;
      if ((await this.listQueues()).includes(name)) return;
    }
    throw new DashboardHttpError(
      DashboardErrorCodes.NOT_FOUND,
      `There is no queue ${name} under the prefix ${this.settings.prefix}: it holds no job and no setting.`,
    );
  }

  /** A shared handle for a queue that may be shown: a valid name, and one of `queues` when they were named. */
  queue(name: string): Queue {
    if (this.closed) throw new DashboardHttpError(DashboardErrorCodes.UNAVAILABLE, 'the dashboard is shutting down');
    try {
      checkQueueName(name);
    } catch (err) {
      throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, (err as Error).message);
    }
    if (this.settings.queues !== null && !this.settings.queues.includes(name)) {
      throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, `queue ${name} is not one this dashboard shows`);
    }
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.settings.connection,
        prefix: this.settings.prefix,
        brokerWaitMs: DASHBOARD_BROKER_WAIT_MS,
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * The queues named in the options, or those found under the prefix. Only the first look is
   * waited for: after it, a stale answer is served at once while a new look runs (one at a time),
   * so no page waits for a SCAN of a large keyspace again. A failed look is forgotten.
   */
  listQueues(): Promise<string[]> {
    if (this.settings.queues !== null) return Promise.resolve(this.settings.queues);
    const now = Date.now();
    const cached = this.discovered;
    if (cached && (now - cached.at < DISCOVERY_TTL_MS || this.discovering)) return cached.names;
    const target = { connection: this.settings.connection, prefix: this.settings.prefix, display: '', cluster: false };
    const names = discoverQueues(target);
    this.discovering = true;
    names.then(
      () => {
        this.discovering = false;
        this.discovered = { at: Date.now(), names };
      },
      () => {
        this.discovering = false;
        if (this.discovered?.names === names) this.discovered = null;
      },
    );
    if (cached) return cached.names;
    this.discovered = { at: now, names };
    return names;
  }

  async summary(l: Links, name: string): Promise<QueueSummaryView> {
    const queue = this.queue(name);
    const [counts, paused, metrics] = await Promise.all([queue.getCounts(), queue.isPaused(), queue.getMetrics({ sinceMs: 3_600_000 })]);
    return queueSummaryView(l, name, counts, paused, metrics);
  }

  async overview(l: Links): Promise<{ queues: QueueSummaryView[]; workers: WorkerView[] }> {
    const names = await this.listQueues();
    const [queues, workers] = await Promise.all([mapLimited(names, QUEUES_IN_FLIGHT, (n) => this.summary(l, n)), this.workers()]);
    return { queues, workers };
  }

  async workers(): Promise<WorkerView[]> {
    // the registry is the prefix's, not a queue's: any handle reads it
    const first = this.settings.queues?.[0] ?? (await this.listQueues())[0];
    const list = first === undefined ? [] : await this.queue(first).getAllWorkers();
    const now = Date.now();
    return list.sort((a, b) => a.startedAt - b.startedAt).map((w) => workerView(w, now));
  }

  async jobRows(l: Links, name: string, status: ListedStatus, offset: number): Promise<JobRowView[]> {
    const jobs = await this.queue(name).getJobs({ status, offset, limit: PAGE_SIZE });
    const now = Date.now();
    return jobs.map((j) => jobRowView(l, j, now));
  }

  async queuePage(l: Links, name: string, status: ListedStatus, offset: number): Promise<QueuePageData> {
    const queue = this.queue(name);
    const [summary, rows, rateLimit, concurrency, groupLimits, schedules] = await Promise.all([
      this.summary(l, name),
      this.jobRows(l, name, status, offset),
      queue.getRateLimit(),
      queue.getConcurrency(),
      queue.getGroupLimits(),
      queue.schedules(),
    ]);
    const group = [
      groupLimits.concurrency !== undefined ? `${groupLimits.concurrency} active per group` : '',
      groupLimits.rateLimit ? `${groupLimits.rateLimit.max} per ${groupLimits.rateLimit.durationMs} ms per group` : '',
    ].filter(Boolean);
    const now = Date.now();
    return {
      summary,
      status,
      offset,
      rows,
      flow: {
        rateLimit: rateLimit ? `at most ${rateLimit.max} jobs start per ${rateLimit.durationMs} ms` : 'none',
        concurrency: concurrency === null ? 'none (each supervisor its own)' : `at most ${concurrency} active at once`,
        groupLimits: group.length ? group.join(', ') : 'none',
        rateMax: rateLimit ? String(rateLimit.max) : '',
        rateMs: rateLimit ? String(rateLimit.durationMs) : '',
        concurrencyValue: concurrency === null ? '' : String(concurrency),
      },
      schedules: schedules.map((s) => scheduleView(s, now)),
    };
  }

  async job(l: Links, name: string, id: string): Promise<JobView | null> {
    const queue = this.queue(name);
    const job = await queue.getJob(id);
    if (!job) return null;
    const [logs, dependsOn, dependents] = await Promise.all([
      queue.getLogs(id, { limit: 1000 }),
      this.dependencies(l, job),
      this.dependents(l, name, id),
    ]);
    return jobView(l, job, { logs, dependsOn, dependents });
  }

  /** What the job waits for, with each one's status now (the first DEPENDENCIES_SHOWN looked up). */
  private async dependencies(l: Links, job: JobInfo): Promise<LinkView[]> {
    const deps = job.opts.dependsOn ?? [];
    return Promise.all(
      deps.map(async (d, i): Promise<LinkView> => {
        const label = d.queue === job.queue ? d.id : `${d.queue} / ${d.id}`;
        let status = '';
        if (i < DEPENDENCIES_SHOWN && this.visible(d.queue)) {
          const other = await this.queue(d.queue)
            .getJob(d.id)
            .catch(() => undefined);
          status = other === undefined ? '' : other === null ? 'gone' : other.status;
        }
        return { label, href: jobHref(l, d.queue, d.id), status };
      }),
    );
  }

  /**
   * The jobs waiting on this one. The public API does not list them; the queue keeps them in the
   * job's dependents set until its outcome has been handed to each (then the set is deleted), so
   * this reads that set directly: a finished job whose dependents were told shows none (null).
   */
  private async dependents(l: Links, name: string, id: string): Promise<LinkView[] | null> {
    this.admin ??= createConnection(this.settings.connection, 'command', `${this.settings.prefix}:dashboard`, {
      commandTimeoutMs: DASHBOARD_BROKER_WAIT_MS,
      retryMaxDelayMs: 2_000,
    });
    let refs: string[];
    try {
      refs = await this.admin.smembers(queueKeys(this.settings.prefix, name).jobDependents(id));
    } catch {
      return null;
    }
    if (refs.length === 0) return null;
    return refs
      .map(parseDepRef)
      .sort((a, b) => a.queue.localeCompare(b.queue) || a.id.localeCompare(b.id))
      .map((d) => ({ label: d.queue === name ? d.id : `${d.queue} / ${d.id}`, href: jobHref(l, d.queue, d.id), status: '' }));
  }

  private visible(name: string): boolean {
    return this.settings.queues === null || this.settings.queues.includes(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    if (this.admin) await disconnect(this.admin);
  }
}

/** Turns the library's errors into what the dashboard answers: 400 for bad input, 503 for an unreachable Redis. */
export function httpErrorOf(err: unknown): DashboardHttpError {
  if (err instanceof DashboardHttpError) return err;
  if (err instanceof ValidationError) return new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, err.message, { cause: err });
  if (err instanceof BrokerUnavailableError) {
    return new DashboardHttpError(DashboardErrorCodes.UNAVAILABLE, 'Redis is not answering; retrying helps once it is back', {
      cause: err,
    });
  }
  return new DashboardHttpError(DashboardErrorCodes.INTERNAL, 'the dashboard could not read what it needed', { cause: err });
}
