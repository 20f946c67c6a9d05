import { ValidationError } from './errors';

/**
 * What to do with a new job whose `dedupe.key` another job of the queue holds:
 * - until-finished: ignore it while that job is queued, delayed, active, retrying or deferred;
 * - throttle: ignore it for `ttlMs` after the first job with the key was enqueued;
 * - debounce: the pending (delayed) job takes the new job's data and its delay starts over.
 */
export const DEDUPE_MODES = ['until-finished', 'throttle', 'debounce'] as const;
export type DedupeMode = (typeof DEDUPE_MODES)[number];

export interface Dedupe {
  key: string;
  mode: DedupeMode;
  /** throttle: how long the key holds (required); the other modes: the longest it may hold */
  ttlMs?: number;
}

const MAX_KEY_LENGTH = 512;

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function checkJobId(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new ValidationError(
      `${where}job option "jobId" must be a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${describe(value)}`,
    );
  }
  return value;
}

/** `delayed`: whether the job has a delayMs (debounce needs one to restart). */
export function checkDedupe(value: unknown, where: string, delayed: boolean): Dedupe {
  const what = `${where}job option "dedupe"`;
  if (typeof value !== 'object' || value === null)
    throw new ValidationError(`${what} must be { key, mode, ttlMs? }, got ${describe(value)}`);
  const { key, mode, ttlMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new ValidationError(`${what}: unknown field "${unknown}" (key, mode, ttlMs)`);
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ValidationError(`${what}: key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${describe(key)}`);
  }
  if (!(DEDUPE_MODES as readonly unknown[]).includes(mode)) {
    throw new ValidationError(`${what}: mode must be one of ${DEDUPE_MODES.join(', ')}, got ${describe(mode)}`);
  }
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 1)) {
    throw new ValidationError(`${what}: ttlMs must be an integer >= 1, got ${describe(ttlMs)}`);
  }
  if (mode === 'throttle' && ttlMs === undefined)
    throw new ValidationError(`${what}: mode "throttle" needs ttlMs (how long to ignore new jobs)`);
  if (mode === 'debounce' && !delayed)
    throw new ValidationError(`${what}: mode "debounce" needs the job option "delayMs" (the delay it restarts)`);
  return { key, mode: mode as DedupeMode, ...(ttlMs === undefined ? {} : { ttlMs: ttlMs as number }) };
}
