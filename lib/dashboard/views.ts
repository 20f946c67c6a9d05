import { formatDuration, formatRelative } from '../format';
import type { SerializedError } from '../errors';
import type { JobCounts, JobInfo } from '../job';
import type { Percentiles, QueueMetrics } from '../metrics';
import type { ScheduleInfo } from '../schedule';
import type { JobStatus, ListedStatus } from '../states';
import type { WorkerInfo } from '../workers';
import { pathSegment } from './html';

/**
 * What pages show, as plain data: the server renders these into HTML, and the JSON API hands the
 * very same objects to the client script, which puts the text back with textContent. So every
 * formatting decision is made once, here, and the browser never turns data into markup.
 */

/** Links are absolute, under the path the dashboard is mounted at (see router's `mount`). */
export interface Links {
  base: string;
}

export const queueHref = (l: Links, queue: string, query = ''): string => `${l.base}/queues/${pathSegment(queue)}${query}`;
export const jobHref = (l: Links, queue: string, id: string): string => `${queueHref(l, queue)}/jobs/${pathSegment(id)}`;

export function formatTime(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC')} (${formatRelative(ms, now)})`;
}

/** Pretty JSON for a <pre>; what cannot be printed says so instead of throwing. */
export function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return '(not printable as JSON)';
  }
}

export interface PercentilesView {
  p50: string;
  p95: string;
  p99: string;
  count: number;
}

export function percentilesView(p: Percentiles): PercentilesView {
  const ms = (v: number | null) => (v === null ? '–' : formatDuration(v));
  return { p50: ms(p.p50), p95: ms(p.p95), p99: ms(p.p99), count: p.count };
}

/** A minute of the chart: [start (epoch ms), completed, failed]. */
export type ChartPoint = [number, number, number];

export interface QueueSummaryView {
  name: string;
  href: string;
  paused: boolean;
  counts: JobCounts;
  /** the last hour, one point per minute, oldest first */
  chart: ChartPoint[];
  completed: number;
  failed: number;
  wait: PercentilesView;
  run: PercentilesView;
}

export function queueSummaryView(l: Links, name: string, counts: JobCounts, paused: boolean, metrics: QueueMetrics): QueueSummaryView {
  return {
    name,
    href: queueHref(l, name),
    paused,
    counts,
    chart: metrics.minutes.map((m): ChartPoint => [m.at, m.completed, m.failed]),
    completed: metrics.completed,
    failed: metrics.failed,
    wait: percentilesView(metrics.waitMs),
    run: percentilesView(metrics.runMs),
  };
}

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  queues: string;
  concurrency: number;
  threads: number;
  running: number;
  completed: number;
  failed: number;
  up: string;
  lastBeat: string;
  /** the last heartbeat is older than two beats of the default 5 s: it may be stuck or dying */
  stale: boolean;
}

export function workerView(w: WorkerInfo, now = Date.now()): WorkerView {
  const age = Math.max(0, now - w.lastHeartbeat);
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    queues: w.queues.join(', '),
    concurrency: w.concurrency,
    threads: w.threads,
    running: w.running,
    completed: w.completed,
    failed: w.failed,
    up: formatDuration(Math.max(0, now - w.startedAt)),
    lastBeat: `${formatDuration(age)} ago`,
    stale: age > 10_000,
  };
}

export interface JobRowView {
  id: string;
  href: string;
  name: string;
  status: JobStatus;
  attempts: string;
  enqueued: string;
  /** finished, or for a delayed or retrying job when it runs */
  when: string;
  /** the error message of a failed or retrying job */
  note: string;
}

export function jobRowView(l: Links, job: JobInfo, now = Date.now()): JobRowView {
  const when =
    job.finishedAt !== undefined
      ? formatRelative(job.finishedAt, now)
      : job.runAt !== undefined
        ? `runs ${formatRelative(job.runAt, now)}`
        : job.startedAt !== undefined
          ? `started ${formatRelative(job.startedAt, now)}`
          : '';
  return {
    id: job.id,
    href: jobHref(l, job.queue, job.id),
    name: job.name,
    status: job.status,
    attempts: attemptsText(job),
    enqueued: formatRelative(job.createdAt, now),
    when,
    note: job.error ? `${job.error.name}: ${job.error.message}` : '',
  };
}

function attemptsText(job: JobInfo): string {
  return job.opts.attempts !== undefined ? `${job.attempts} of ${job.opts.attempts}` : String(job.attempts);
}

export interface ErrorView {
  /** "TypeError: bad input [E_BAD]" */
  title: string;
  /** the stack as stored, or the title when there is none */
  stack: string;
  /** the stack without the "Name: message" it starts with, shown under the title */
  frames: string;
}

export function errorView(e: SerializedError): ErrorView {
  const title = `${e.name}: ${e.message}${e.code ? ` [${e.code}]` : ''}${e.reason ? ` (reason: ${e.reason})` : ''}`;
  const stack = e.stack && e.stack.length > 0 ? e.stack : title;
  const head = `${e.name}: ${e.message}`;
  const frames = stack.startsWith(head) ? stack.slice(head.length).replace(/^\n/, '') : stack;
  return { title, stack, frames };
}

export interface LinkView {
  label: string;
  href: string;
  /** the linked job's status now ('' when unknown, 'gone' when it has no record) */
  status: string;
}

export interface JobView {
  id: string;
  queue: string;
  queueHref: string;
  name: string;
  status: JobStatus;
  /** label / text pairs, in order: times, tries, options */
  facts: [string, string][];
  /** 0..1 when the progress reads as a fraction ({ done, total }, or a number 0..100) */
  progressFraction: number | null;
  progress: string;
  data: string;
  result: string;
  error: ErrorView | null;
  tries: ErrorView[];
  logs: string[];
  dependsOn: LinkView[];
  /** what it depends on does when a dependency fails */
  policy: string;
  /** jobs waiting on this one; null when the record does not say (see data.ts) */
  dependents: LinkView[] | null;
  actions: { retry: boolean; cancel: boolean; remove: boolean };
}

const CANCELABLE: ReadonlySet<JobStatus> = new Set(['queued', 'delayed', 'retrying', 'active', 'deferred']);

export function jobView(
  l: Links,
  job: JobInfo,
  extra: { logs: string[]; dependsOn: LinkView[]; dependents: LinkView[] | null },
  now = Date.now(),
): JobView {
  const took = job.startedAt !== undefined && job.finishedAt !== undefined ? formatDuration(job.finishedAt - job.startedAt) : '';
  const waited = job.startedAt !== undefined ? formatDuration(Math.max(0, job.startedAt - Math.max(job.createdAt, 0))) : '';
  const facts: [string, string][] = [
    ['status', job.status],
    ['attempts', attemptsText(job)],
    ['enqueued', formatTime(job.createdAt, now)],
    ['runs at', job.status === 'delayed' || job.status === 'retrying' ? formatTime(job.runAt, now) : ''],
    ['started', formatTime(job.startedAt, now)],
    ['finished', formatTime(job.finishedAt, now)],
    ['waited', waited],
    ['took', took],
    ['options', optionsText(job)],
  ];
  return {
    id: job.id,
    queue: job.queue,
    queueHref: queueHref(l, job.queue),
    name: job.name,
    status: job.status,
    facts: facts.filter(([, text]) => text !== ''),
    progressFraction: fraction(job.progress),
    progress: job.progress === undefined ? '' : prettyJson(job.progress),
    data: prettyJson(job.data),
    result: 'result' in job && job.status === 'completed' ? prettyJson(job.result) : '',
    error: job.error ? errorView(job.error) : null,
    tries: job.errors.map((e) => {
      const v = errorView(e.error);
      return { ...v, title: `attempt ${e.attempt}, ${formatTime(e.failedAt, now)}: ${v.title}` };
    }),
    logs: extra.logs,
    dependsOn: extra.dependsOn,
    policy: job.opts.dependsOn?.length ? `if one fails: ${job.opts.onDependencyFailure ?? 'fail'}` : '',
    dependents: extra.dependents,
    actions: { retry: job.status === 'failed', cancel: CANCELABLE.has(job.status), remove: job.status !== 'active' },
  };
}

function optionsText(job: JobInfo): string {
  const { timeoutMs, priority, group, backoff, resultTtlMs, failedTtlMs } = job.opts;
  return [
    timeoutMs !== undefined ? `timeout ${timeoutMs === 0 ? 'none' : formatDuration(timeoutMs)}` : '',
    priority ? `priority ${priority}` : '',
    group !== undefined ? `group ${group}` : '',
    backoff !== undefined ? `backoff ${JSON.stringify(backoff)}` : '',
    resultTtlMs !== undefined ? `result kept ${formatDuration(resultTtlMs)}` : '',
    failedTtlMs !== undefined ? `failure kept ${formatDuration(failedTtlMs)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function fraction(progress: unknown): number | null {
  if (typeof progress === 'number' && progress >= 0 && progress <= 100) return progress / 100;
  if (typeof progress === 'object' && progress !== null) {
    const { done, total } = progress as { done?: unknown; total?: unknown };
    if (typeof done === 'number' && typeof total === 'number' && total > 0 && done >= 0) return Math.min(1, done / total);
  }
  return null;
}

export interface ScheduleView {
  id: string;
  spec: string;
  job: string;
  next: string;
  last: string;
  count: number;
}

export function scheduleView(s: ScheduleInfo, now = Date.now()): ScheduleView {
  const when =
    s.spec.cron !== undefined
      ? `cron ${s.spec.cron}${s.spec.tz ? ` (${s.spec.tz})` : ' (UTC)'}`
      : `every ${formatDuration(s.spec.everyMs ?? 0)}`;
  const bounds = [
    s.spec.startAt !== undefined ? `from ${new Date(s.spec.startAt).toISOString()}` : '',
    s.spec.endAt !== undefined ? `until ${new Date(s.spec.endAt).toISOString()}` : '',
    s.spec.limit !== undefined ? `at most ${s.spec.limit} times` : '',
  ].filter(Boolean);
  return {
    id: s.id,
    spec: [when, ...bounds].join(', '),
    job: s.name,
    next: s.nextRunAt === null ? 'ended' : formatTime(s.nextRunAt, now),
    last: s.lastRunAt === null ? 'never' : formatTime(s.lastRunAt, now),
    count: s.count,
  };
}

/** Statuses in the order a person looking for trouble reads them. */
export const STATUS_TABS: readonly ListedStatus[] = [
  'failed',
  'active',
  'queued',
  'retrying',
  'delayed',
  'deferred',
  'completed',
  'canceled',
];
