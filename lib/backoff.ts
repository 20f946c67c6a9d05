import { ErrorCodes, type SerializedError, ValidationError } from './errors';

/**
 * How long a failed job waits before its next try. Stored with the job at enqueue; the supervisor
 * that records the failure computes the delay (a named strategy is a function only it has).
 */
export type Backoff =
  | { type: 'fixed'; delayMs: number }
  /** delayMs * 2^(n-1) after the n-th failed try, capped at maxDelayMs; jitter 0..1 takes up to that share off at random */
  | { type: 'exponential'; delayMs: number; maxDelayMs?: number; jitter?: number }
  /** the n-th failed try waits delays[n-1]; the last one repeats */
  | number[]
  /** a strategy the supervisor was given in `backoffStrategies` */
  | { type: string };

/** attempt: the try that just failed (1 for the first); return -1 to stop retrying. */
export type BackoffStrategy = (attempt: number, error: SerializedError) => number;

const BUILT_IN = new Set(['fixed', 'exponential']);

/** The longest wait before a retry (a year): a longer or infinite computed delay is cut to this. */
export const MAX_BACKOFF_MS = 365 * 24 * 3600_000;

/** What a supervisor decides after a failed try: retry after delayMs, or fail for good. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; problem?: string };

export function checkBackoff(value: unknown, where: string): Backoff {
  const bad = (what: string) => new ValidationError(`${where}job option "backoff" ${what}, got ${JSON.stringify(value)}`);
  const isDelay = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every(isDelay)) throw bad('as an array must list delays in ms (integers >= 0)');
    return [...value];
  }
  if (typeof value !== 'object' || value === null) throw bad('must be { type, ... } or an array of delays');
  const b = value as Record<string, unknown>;
  if (typeof b.type !== 'string' || b.type === '') throw bad('needs a "type"');
  if (!BUILT_IN.has(b.type)) {
    if (Object.keys(b).length > 1) throw bad(`of type "${b.type}" (a named strategy) takes no other fields`);
    return { type: b.type };
  }
  if (!isDelay(b.delayMs)) throw bad('needs "delayMs", an integer >= 0');
  const known = b.type === 'fixed' ? ['type', 'delayMs'] : ['type', 'delayMs', 'maxDelayMs', 'jitter'];
  const extra = Object.keys(b).find((key) => !known.includes(key));
  if (extra) throw bad(`of type "${b.type}" has no field "${extra}"`);
  if (b.maxDelayMs !== undefined && !isDelay(b.maxDelayMs)) throw bad('"maxDelayMs" must be an integer >= 0');
  if (b.jitter !== undefined && (typeof b.jitter !== 'number' || !(b.jitter >= 0 && b.jitter <= 1))) {
    throw bad('"jitter" must be a number from 0 to 1');
  }
  return { ...b } as Backoff;
}

/**
 * After failed try number `attempt` (1-based) failed with `error`: retry, and when (at most
 * MAX_BACKOFF_MS). No retry once `maxAttempts` tries are used up, for an UnrecoverableError, or
 * when a named strategy says -1; a strategy this supervisor lacks, or one that throws or answers
 * nonsense, fails the job and says why.
 */
export function decideRetry(...args: Parameters<typeof decide>): RetryDecision {
  const decision = decide(...args);
  return decision.retry ? { retry: true, delayMs: Math.min(decision.delayMs, MAX_BACKOFF_MS) } : decision;
}

function decide(
  attempt: number,
  maxAttempts: number,
  backoff: Backoff | undefined,
  error: SerializedError,
  strategies: Readonly<Record<string, BackoffStrategy>>,
  random: () => number = Math.random,
): RetryDecision {
  if (error.code === ErrorCodes.UNRECOVERABLE || attempt >= maxAttempts) return { retry: false };
  if (backoff === undefined) return { retry: true, delayMs: 0 };
  if (Array.isArray(backoff)) return { retry: true, delayMs: backoff[Math.min(attempt, backoff.length) - 1]! };
  if (backoff.type === 'fixed') return { retry: true, delayMs: (backoff as { delayMs: number }).delayMs };
  if (backoff.type === 'exponential') {
    const b = backoff as Extract<Backoff, { type: 'exponential' }>;
    const full = Math.min(b.delayMs * 2 ** (attempt - 1), b.maxDelayMs ?? Number.POSITIVE_INFINITY);
    return { retry: true, delayMs: Math.round(full * (1 - (b.jitter ?? 0) * random())) };
  }
  const strategy = strategies[backoff.type];
  if (!strategy) return { retry: false, problem: `backoff strategy "${backoff.type}" is not in this supervisor's backoffStrategies` };
  let delayMs: unknown;
  try {
    delayMs = strategy(attempt, error);
  } catch (err) {
    return { retry: false, problem: `backoff strategy "${backoff.type}" threw: ${(err as Error)?.message ?? String(err)}` };
  }
  if (delayMs === -1) return { retry: false };
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    return { retry: false, problem: `backoff strategy "${backoff.type}" returned ${String(delayMs)}, not a delay in ms >= 0 or -1` };
  }
  return { retry: true, delayMs: Math.round(delayMs) };
}
