import type { NewJob } from './broker';
import { checkBackoff } from './backoff';
import { checkDedupe, checkJobId } from './dedupe';
import { checkDependencyPolicy, checkDependsOn, type DependencyRef } from './dependencies';
import { ValidationError } from './errors';
import { checkGroup, checkPriority } from './flow';
import { type JobOptions, STORED_OPTIONS } from './job';

/** Checks of what callers pass to Queue methods: job options, schedule ids, counts. */

const TIME_OPTIONS = ['delayMs', 'runAt'] as const;
const OTHER_OPTIONS = ['attempts', 'backoff', 'group', 'jobId', 'dedupe', 'dependsOn', 'onDependencyFailure'] as const;

type CheckedOptions = Pick<NewJob, 'opts' | 'runAt' | 'delayMs' | 'dedupe'> & { jobId?: string; dependsOn?: DependencyRef[] };

/** Checks job options; the stored ones go to `opts`, the time ones become when the job may run. */
export function checkJobOptions(opts: unknown, where: string): CheckedOptions {
  if (typeof opts !== 'object' || opts === null) throw new ValidationError(`${where}job options must be an object`);
  const out: CheckedOptions = { opts: {} };
  for (const [key, raw] of Object.entries(opts)) {
    const known = [...STORED_OPTIONS, ...TIME_OPTIONS, ...OTHER_OPTIONS] as readonly string[];
    if (!known.includes(key)) throw new ValidationError(`${where}unknown job option "${key}"`);
    if (raw === undefined) continue;
    if (key === 'backoff') {
      out.opts.backoff = checkBackoff(raw, where);
      continue;
    }
    if (key === 'jobId') {
      out.jobId = checkJobId(raw, where);
      continue;
    }
    if (key === 'dedupe') {
      const delayMs = (opts as JobOptions).delayMs;
      out.dedupe = checkDedupe(raw, where, typeof delayMs === 'number' && delayMs > 0);
      continue;
    }
    if (key === 'dependsOn') {
      out.dependsOn = checkDependsOn(raw, where);
      continue;
    }
    if (key === 'onDependencyFailure') {
      out.opts.onDependencyFailure = checkDependencyPolicy(raw, where);
      continue;
    }
    if (key === 'group') {
      out.opts.group = checkGroup(raw, where);
      continue;
    }
    if (key === 'priority') {
      out.opts.priority = checkPriority(raw, where);
      continue;
    }
    if (key === 'attempts') {
      if (!Number.isSafeInteger(raw) || (raw as number) < 1) {
        throw new ValidationError(`${where}job option "attempts" must be an integer >= 1 (tries in all), got ${describeValue(raw)}`);
      }
      out.opts.attempts = raw as number;
      continue;
    }
    const value = key === 'runAt' && raw instanceof Date ? raw.getTime() : raw;
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      const expected = key === 'runAt' ? 'a Date or epoch ms' : 'an integer >= 0';
      throw new ValidationError(`${where}job option "${key}" must be ${expected}, got ${describeValue(raw)}`);
    }
    if (key === 'runAt') out.runAt = value as number;
    else if (key === 'delayMs') out.delayMs = value as number;
    else out.opts[key as (typeof STORED_OPTIONS)[number]] = value as number;
  }
  if (out.runAt !== undefined && out.delayMs !== undefined)
    throw new ValidationError(`${where}job options "delayMs" and "runAt" cannot be used together`);
  if (out.dependsOn && (out.runAt !== undefined || out.delayMs !== undefined))
    throw new ValidationError(
      `${where}job option "dependsOn" cannot be used with "delayMs" or "runAt": a dependent runs once its dependencies are done`,
    );
  return out;
}

export function checkScheduleId(id: unknown): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200 || /\s/.test(id)) {
    throw new ValidationError(`schedule id must be a non-empty string of at most 200 characters without spaces, got ${describeValue(id)}`);
  }
}

export function checkCount(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ValidationError(`${what} must be an integer ${range}, got ${describeValue(value)}`);
  }
}

export function describeValue(value: unknown): string {
  if (value instanceof Date) return `an invalid Date`;
  return JSON.stringify(value) ?? String(value);
}
