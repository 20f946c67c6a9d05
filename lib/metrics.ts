/**
 * Per-minute metrics of a queue, kept in Redis for a day: completed and failed counts, and wait and
 * run times as histograms with geometric buckets (a bucket holds the times whose log base
 * BUCKET_BASE of ms + 1 floors to its index), so percentiles come out within one bucket's width
 * (25%) whatever the spread. The scripts write them with each outcome (lua/includes/metrics.lua).
 */
export const METRIC_BUCKET_BASE = 1.25;
export const METRIC_MINUTE_MS = 60_000;
/** how long a minute's metrics are kept; a day and the minute being written */
export const METRICS_KEPT_MS = 24 * 60 * METRIC_MINUTE_MS + 2 * METRIC_MINUTE_MS;

/** The Lua table the scripts start with, beside the statuses (see lib/redis/scripts.ts). */
export function metricsLua(): string {
  return `local METRIC = { base = ${METRIC_BUCKET_BASE}, minuteMs = ${METRIC_MINUTE_MS}, keptMs = ${METRICS_KEPT_MS} }`;
}

export interface Percentiles {
  /** how many times were measured */
  count: number;
  /** ms; null without samples */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MinuteMetrics {
  /** the minute's start, epoch ms (Redis server clock) */
  at: number;
  completed: number;
  failed: number;
  /** from enqueue (or the due time of a delayed or retried job) to the start of its run */
  waitMs: Percentiles;
  /** from the start of a run to its outcome (completed, failed, or a failed try) */
  runMs: Percentiles;
}

export interface QueueMetrics {
  queue: string;
  /** one entry per minute of the range, oldest first; minutes without jobs are zeros */
  minutes: MinuteMetrics[];
  /** over the whole range */
  completed: number;
  failed: number;
  waitMs: Percentiles;
  runMs: Percentiles;
}

/** The upper bound of a bucket, in ms: what a percentile falling in it is reported as. */
export function bucketMs(bucket: number): number {
  return Math.max(0, Math.round(METRIC_BUCKET_BASE ** (bucket + 1) - 1));
}

export function percentiles(buckets: Map<number, number>): Percentiles {
  const sorted = [...buckets].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const count = sorted.reduce((sum, [, n]) => sum + n, 0);
  const at = (q: number): number | null => {
    if (count === 0) return null;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [bucket, n] of sorted) {
      seen += n;
      if (seen >= rank) return bucketMs(bucket);
    }
    return null;
  };
  return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** One minute's hash (fields c, f, w<bucket>, r<bucket>) as counts and bucket maps. */
export function decodeMinute(fields: Record<string, string>): {
  completed: number;
  failed: number;
  wait: Map<number, number>;
  run: Map<number, number>;
} {
  const wait = new Map<number, number>();
  const run = new Map<number, number>();
  for (const [field, value] of Object.entries(fields)) {
    const target = field[0] === 'w' ? wait : field[0] === 'r' ? run : null;
    if (target) target.set(Number(field.slice(1)), Number(value));
  }
  return { completed: Number(fields.c ?? 0), failed: Number(fields.f ?? 0), wait, run };
}

/** Minutes (epoch ms of their start, oldest first) to read for the last `sinceMs` up to `nowMs`. */
export function minutesSince(nowMs: number, sinceMs: number): number[] {
  const last = Math.floor(nowMs / METRIC_MINUTE_MS);
  const first = Math.floor((nowMs - Math.min(sinceMs, METRICS_KEPT_MS - 2 * METRIC_MINUTE_MS)) / METRIC_MINUTE_MS);
  const out: number[] = [];
  for (let m = first; m <= last; m++) out.push(m * METRIC_MINUTE_MS);
  return out;
}

export function summarize(queue: string, minutes: { at: number; fields: Record<string, string> }[]): QueueMetrics {
  const allWait = new Map<number, number>();
  const allRun = new Map<number, number>();
  const add = (into: Map<number, number>, from: Map<number, number>) => {
    for (const [b, n] of from) into.set(b, (into.get(b) ?? 0) + n);
  };
  let completed = 0;
  let failed = 0;
  const out: MinuteMetrics[] = minutes.map(({ at, fields }) => {
    const m = decodeMinute(fields);
    completed += m.completed;
    failed += m.failed;
    add(allWait, m.wait);
    add(allRun, m.run);
    return { at, completed: m.completed, failed: m.failed, waitMs: percentiles(m.wait), runMs: percentiles(m.run) };
  });
  return { queue, minutes: out, completed, failed, waitMs: percentiles(allWait), runMs: percentiles(allRun) };
}
