import { CorruptJobError, type SerializedError } from './errors';

/** `delayed`, `retrying` and `canceled` are reserved for scheduling, retries and cancellation. */
export type JobStatus = 'queued' | 'active' | 'completed' | 'failed' | 'delayed' | 'retrying' | 'canceled';

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['completed', 'failed', 'canceled']);

export interface JobOptions {
  /** Hard limit for one run, from the handler's start; 0 means none. Default: the supervisor's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** How long a completed job's record (and result) is kept; 0 deletes it at once. Default: the supervisor's `resultTtlMs`. */
  resultTtlMs?: number;
  /** How long a failed job's record (and error) is kept; 0 deletes it at once. Default: the supervisor's `failedTtlMs`. */
  failedTtlMs?: number;
}

/** What enqueue returns: enough to find the job again from any process. */
export interface JobRef {
  id: string;
  queue: string;
  name: string;
}

export interface JobInfo<Data = unknown, Result = unknown> extends JobRef {
  data: Data;
  status: JobStatus;
  /** Handler starts so far; a run put back through no fault of its own does not count. */
  attempts: number;
  result?: Result;
  error?: SerializedError;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  opts: JobOptions;
}

/** The job options stored as hash fields: one list, so enqueue and reads agree. */
export const OPTION_FIELDS = ['timeoutMs', 'resultTtlMs', 'failedTtlMs'] as const satisfies readonly (keyof JobOptions)[];

const STATUSES: ReadonlySet<string> = new Set(['queued', 'active', 'completed', 'failed', 'delayed', 'retrying', 'canceled']);

export function jobFromHash<D, R>(queue: string, id: string, hash: Record<string, string>): JobInfo<D, R> {
  const { name, data, status, createdAt } = hash;
  if (name === undefined || data === undefined || status === undefined || !STATUSES.has(status)) {
    throw new CorruptJobError(`job ${id} in queue ${queue} has a damaged record (name, data or status missing)`);
  }
  const info: JobInfo<D, R> = {
    id,
    queue,
    name,
    data: parseStored<D>(data, `job ${id} data`),
    status: status as JobStatus,
    attempts: Number(hash.attempts ?? 0),
    createdAt: Number(createdAt ?? 0),
    opts: {},
  };
  for (const field of OPTION_FIELDS) {
    if (hash[field] !== undefined) info.opts[field] = Number(hash[field]);
  }
  if (hash.startedAt !== undefined) info.startedAt = Number(hash.startedAt);
  if (hash.finishedAt !== undefined) info.finishedAt = Number(hash.finishedAt);
  if (hash.result !== undefined) info.result = parseStored<R>(hash.result, `job ${id} result`);
  if (hash.error !== undefined) info.error = parseStored<SerializedError>(hash.error, `job ${id} error`);
  return info;
}

export function parseStored<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new CorruptJobError(`${what} is not valid JSON`);
  }
}
