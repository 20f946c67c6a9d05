import { ValidationError } from './errors';

/**
 * A queue's flow controls, as the public API names them. They live in Redis and every supervisor
 * reads them at each lease, so they hold across all supervisors of the queue.
 */

/** At most `max` jobs start in any span of `durationMs` (a sliding window). */
export interface RateLimit {
  max: number;
  durationMs: number;
}

/** Limits applied to each group on its own: a per-tenant limit. */
export interface GroupLimits {
  /** most jobs of one group active at once */
  concurrency?: number;
  rateLimit?: RateLimit;
}

export interface FlowSettings {
  paused: boolean;
  rateLimit: RateLimit | null;
  concurrency: number | null;
  groupLimits: GroupLimits;
}

/** Control hash field -> value ('' deletes it), as the flow script takes them. */
export type FlowChanges = Record<string, string | number>;

export const MAX_PRIORITY = 1_000_000;
const MAX_GROUP_LENGTH = 256;

export function checkRateLimit(limit: unknown, what: string): RateLimit {
  const l = limit as Partial<RateLimit> | null;
  if (typeof l !== 'object' || l === null || !isPositiveInt(l.max) || !isPositiveInt(l.durationMs)) {
    throw new ValidationError(`${what} must be { max, durationMs } with integers >= 1, got ${JSON.stringify(limit) ?? String(limit)}`);
  }
  return { max: l.max, durationMs: l.durationMs };
}

export function checkConcurrency(n: unknown, what: string): number {
  if (!isPositiveInt(n)) throw new ValidationError(`${what} must be an integer >= 1, got ${JSON.stringify(n) ?? String(n)}`);
  return n;
}

export function checkGroupLimits(limits: unknown): GroupLimits {
  if (typeof limits !== 'object' || limits === null) throw new ValidationError('setGroupLimits expects { concurrency?, rateLimit? }');
  const out: GroupLimits = {};
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (key === 'concurrency') out.concurrency = checkConcurrency(value, 'setGroupLimits: concurrency');
    else if (key === 'rateLimit') out.rateLimit = checkRateLimit(value, 'setGroupLimits: rateLimit');
    else throw new ValidationError(`setGroupLimits: unknown limit "${key}" (concurrency, rateLimit)`);
  }
  return out;
}

export function checkPriority(value: unknown, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_PRIORITY) {
    throw new ValidationError(`${where}job option "priority" must be an integer from 0 to ${MAX_PRIORITY}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

export function checkGroup(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_GROUP_LENGTH) {
    throw new ValidationError(
      `${where}job option "group" must be a non-empty string of at most ${MAX_GROUP_LENGTH} characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The control hash as FlowSettings. */
export function flowFromHash(hash: Record<string, string>): FlowSettings {
  const num = (field: string) => (hash[field] === undefined ? undefined : Number(hash[field]));
  const rate = (max?: number, durationMs?: number) => (max !== undefined && durationMs !== undefined ? { max, durationMs } : null);
  const groupLimits: GroupLimits = {};
  const groupConcurrency = num('groupConcurrency');
  if (groupConcurrency !== undefined) groupLimits.concurrency = groupConcurrency;
  const groupRate = rate(num('groupRateMax'), num('groupRateMs'));
  if (groupRate) groupLimits.rateLimit = groupRate;
  return {
    paused: hash.paused !== undefined,
    rateLimit: rate(num('rateMax'), num('rateMs')),
    concurrency: num('concurrency') ?? null,
    groupLimits,
  };
}

/** The control fields setGroupLimits writes (a limit left out is removed). */
export function groupLimitFields(limits: GroupLimits): FlowChanges {
  return {
    groupConcurrency: limits.concurrency ?? '',
    groupRateMax: limits.rateLimit?.max ?? '',
    groupRateMs: limits.rateLimit?.durationMs ?? '',
  };
}

function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
