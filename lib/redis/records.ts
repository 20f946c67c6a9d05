import type { JobOutcome } from '../broker';
import { CorruptJobError, type SerializedError } from '../errors';
import type { Backoff } from '../backoff';
import type { DependencyPolicy, JobAddress } from '../dependencies';
import { type AttemptError, type JobInfo, type JobOptions, STORED_OPTIONS } from '../job';
import type { RedisClient } from './connection';
import { isJobStatus } from '../states';

/** A job hash as Redis stores it, read into a JobInfo; a damaged record is a CorruptJobError. */
export function jobFromHash<D, R>(queue: string, id: string, hash: Record<string, string>): JobInfo<D, R> {
  const { name, data, status, createdAt } = hash;
  if (name === undefined || data === undefined || !isJobStatus(status)) {
    throw new CorruptJobError(`job ${id} in queue ${queue} has a damaged record (name, data or status missing)`);
  }
  const info: JobInfo<D, R> = {
    id,
    queue,
    name,
    data: parseStored<D>(data, `job ${id} data`),
    status,
    attempts: Number(hash.attempts ?? 0),
    errors: attemptErrors(id, hash),
    createdAt: Number(createdAt ?? 0),
    opts: {},
  };
  for (const field of STORED_OPTIONS) {
    if (hash[field] !== undefined) info.opts[field] = Number(hash[field]);
  }
  if (hash.maxAttempts !== undefined) info.opts.attempts = Number(hash.maxAttempts);
  if (hash.backoff !== undefined) info.opts.backoff = parseStored<Backoff>(hash.backoff, `job ${id} backoff`);
  if (hash.group !== undefined) info.opts.group = hash.group;
  if (hash.dependsOn !== undefined) info.opts.dependsOn = parseStored<JobAddress[]>(hash.dependsOn, `job ${id} dependsOn`);
  if (hash.onDependencyFailure !== undefined) info.opts.onDependencyFailure = hash.onDependencyFailure as DependencyPolicy;
  for (const field of ['runAt', 'startedAt', 'finishedAt'] as const) {
    if (hash[field] !== undefined) info[field] = Number(hash[field]);
  }
  if (hash.result !== undefined) info.result = parseStored<R>(hash.result, `job ${id} result`);
  if (hash.error !== undefined) info.error = parseStored<SerializedError>(hash.error, `job ${id} error`);
  if (hash.progress !== undefined) info.progress = parseStored<unknown>(hash.progress, `job ${id} progress`);
  return info;
}

/** The kept errors of failed tries (fields error@<n>, n counting failures), oldest first. */
function attemptErrors(id: string, hash: Record<string, string>): AttemptError[] {
  return Object.keys(hash)
    .filter((field) => field.startsWith(ERROR_FIELD))
    .sort((a, b) => Number(a.slice(ERROR_FIELD.length)) - Number(b.slice(ERROR_FIELD.length)))
    .map((field) => parseStored<AttemptError>(hash[field]!, `job ${id} ${field}`));
}

const ERROR_FIELD = 'error@';

/** The outcome part of a record; the result or error is parsed only once the job is final. */
export function outcomeFromFields(
  queue: string,
  id: string,
  status: string | null,
  result: string | null,
  error: string | null,
): JobOutcome {
  if (!isJobStatus(status)) throw new CorruptJobError(`job ${id} in queue ${queue} has a damaged record (no valid status)`);
  const outcome: JobOutcome = { status };
  if (status === 'completed' && result !== null) outcome.result = parseStored(result, `job ${id} result`);
  if (status !== 'completed' && error !== null) outcome.error = parseStored<SerializedError>(error, `job ${id} error`);
  return outcome;
}

function parseStored<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new CorruptJobError(`${what} is not valid JSON`);
  }
}

/** The job options a record stores, as hash field / value pairs (shared by enqueue and schedule ticks). */
export function storedOptionFields(opts: JobOptions): (string | number)[] {
  const fields: (string | number)[] = [];
  for (const field of STORED_OPTIONS) {
    const value = opts[field];
    if (value !== undefined) fields.push(field, value);
  }
  if (opts.attempts !== undefined) fields.push('maxAttempts', opts.attempts);
  if (opts.backoff !== undefined) fields.push('backoff', JSON.stringify(opts.backoff));
  if (opts.group !== undefined) fields.push('group', opts.group);
  return fields;
}

/** Many hashes in one round trip (a pipeline: the keys of one queue share a slot); {} for a key that is gone. */
export async function readHashes(redis: RedisClient, keys: string[]): Promise<Record<string, string>[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([err]) => err)?.[0];
  if (failed) throw failed;
  return replies.map(([, hash]) => hash as Record<string, string>);
}
