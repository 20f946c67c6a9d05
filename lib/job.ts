import type { SerializedError } from './errors';
import type { JobStatus } from './states';

export type { JobStatus };

export interface JobOptions {
  /** Hard limit for one run, from the handler's start; 0 means none. Default: the supervisor's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** How long a completed job's record (and result) is kept; 0 deletes it at once. Default: the supervisor's `resultTtlMs`. */
  resultTtlMs?: number;
  /** How long a failed job's record (and error) is kept; 0 deletes it at once. Default: the supervisor's `failedTtlMs`. */
  failedTtlMs?: number;
  /** Run no earlier than this many ms from now (by the Redis server's clock); the job is `delayed` until then. */
  delayMs?: number;
  /** Run no earlier than this time (a Date or epoch ms); the job is `delayed` until then. Not together with `delayMs`. */
  runAt?: Date | number;
}

/** The job options stored as numeric hash fields: one list, so enqueue and reads agree. */
export const STORED_OPTIONS = ['timeoutMs', 'resultTtlMs', 'failedTtlMs'] as const satisfies readonly (keyof JobOptions)[];
export type StoredOptions = Pick<JobOptions, (typeof STORED_OPTIONS)[number]>;

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
  /** For a delayed job: when it becomes runnable. */
  runAt?: number;
  startedAt?: number;
  finishedAt?: number;
  opts: StoredOptions;
}
