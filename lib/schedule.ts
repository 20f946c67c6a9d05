import { Cron } from 'croner';
import { ValidationError } from './errors';

/**
 * When a recurring schedule ticks: a cron pattern (5 fields, or 6 with seconds first) in a time
 * zone (default UTC), or a fixed interval; optionally only from `startAt`, until `endAt`
 * (exclusive), and at most `limit` times.
 */
export type ScheduleSpec = ({ cron: string; tz?: string } | { everyMs: number }) & {
  startAt?: Date | number;
  endAt?: Date | number;
  limit?: number;
};

/** A schedule as stored: epoch ms throughout. */
export interface StoredSpec {
  cron?: string;
  tz?: string;
  everyMs?: number;
  startAt?: number;
  endAt?: number;
  limit?: number;
}

/** A schedule as the supervisor needs it to plan its next tick. */
export interface ScheduleState {
  id: string;
  spec: StoredSpec;
  /** an interval schedule without startAt ticks at anchor + k * everyMs (its first tick); else null */
  anchor: number | null;
  /** the pending tick's id ('' : none) */
  pending: string;
  /** the pending tick's status, as found by the heartbeat's look for stale schedules ('' : gone) */
  pendingStatus?: string;
}

/** The due time a tick's id (`<schedule id>@<due ms>`) carries. */
export function tickDue(tickId: string): number {
  return Number(tickId.slice(tickId.lastIndexOf('@') + 1));
}

/** What queue.schedules() lists. */
export interface ScheduleInfo {
  id: string;
  spec: StoredSpec;
  name: string;
  data: unknown;
  /** when the pending tick is due (epoch ms); null once the schedule has ended */
  nextRunAt: number | null;
  /** the due time of the last tick a supervisor took; null before the first */
  lastRunAt: number | null;
  /** ticks taken so far */
  count: number;
  createdAt: number;
}

export function checkScheduleSpec(spec: unknown): StoredSpec {
  const bad = (what: string) => new ValidationError(`schedule spec ${what}, got ${JSON.stringify(spec)}`);
  if (typeof spec !== 'object' || spec === null) throw bad('must be { cron, tz? } or { everyMs }');
  const s = spec as Record<string, unknown>;
  const known = ['cron', 'tz', 'everyMs', 'startAt', 'endAt', 'limit'];
  const extra = Object.keys(s).find((k) => !known.includes(k));
  if (extra) throw bad(`has no field "${extra}"`);
  const out: StoredSpec = {};
  if ((s.cron === undefined) === (s.everyMs === undefined)) throw bad('needs exactly one of "cron" and "everyMs"');
  if (s.cron !== undefined) {
    if (typeof s.cron !== 'string') throw bad('"cron" must be a string');
    if (s.tz !== undefined && typeof s.tz !== 'string') throw bad('"tz" must be an IANA time zone name');
    try {
      new Cron(s.cron, { timezone: s.tz as string | undefined, paused: true }).nextRun();
    } catch (err) {
      throw bad(`has a cron pattern or time zone croner refuses (${(err as Error).message})`);
    }
    out.cron = s.cron;
    if (s.tz !== undefined) out.tz = s.tz as string;
  } else {
    if (!Number.isSafeInteger(s.everyMs) || (s.everyMs as number) < 1) throw bad('"everyMs" must be an integer >= 1');
    if (s.tz !== undefined) throw bad('"tz" goes with "cron" only');
    out.everyMs = s.everyMs as number;
  }
  for (const field of ['startAt', 'endAt'] as const) {
    const raw = s[field];
    if (raw === undefined) continue;
    const ms = raw instanceof Date ? raw.getTime() : raw;
    if (!Number.isSafeInteger(ms) || (ms as number) < 0) throw bad(`"${field}" must be a Date or epoch ms`);
    out[field] = ms as number;
  }
  if (s.limit !== undefined) {
    if (!Number.isSafeInteger(s.limit) || (s.limit as number) < 1) throw bad('"limit" must be an integer >= 1');
    out.limit = s.limit as number;
  }
  return out;
}

/**
 * The first tick strictly after `after` (epoch ms; `startAt` itself counts), or null when the
 * schedule has none left (at or past `endAt`). An interval schedule ticks at startAt + k * everyMs,
 * or without startAt at anchor + k * everyMs (no anchor yet: everyMs after `after`). Ticks missed
 * while nothing ran are skipped, not replayed.
 */
export function nextTick(spec: StoredSpec, after: number, anchor: number | null = null): number | null {
  const from = Math.max(after, (spec.startAt ?? Number.NEGATIVE_INFINITY) - 1);
  let next: number | null;
  if (spec.cron !== undefined) {
    const cron = new Cron(spec.cron, { timezone: spec.tz, paused: true });
    next = cron.nextRun(new Date(from))?.getTime() ?? null;
  } else {
    const every = spec.everyMs!;
    const base = spec.startAt ?? anchor ?? after + every;
    next = from < base ? base : base + every * (Math.floor((from - base) / every) + 1);
  }
  if (next === null || (spec.endAt !== undefined && next >= spec.endAt)) return null;
  return next;
}
