import type { Backoff } from './backoff';
import type { Dedupe } from './dedupe';
import type { DependencyPolicy, DependencyRef, JobAddress } from './dependencies';
import type { SerializedError } from './errors';
import type { JobStatus, ListedStatus } from './states';

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
  /** Tries in all, the first included; a failed try before the last is retried after `backoff`. Default 1: no retry. */
  attempts?: number;
  /** How long to wait before each retry (see Backoff). Default: retry at once. */
  backoff?: Backoff;
  /** 0 to 1,000,000, lower runs first; equal priorities run in the order they became runnable. Default 0. */
  priority?: number;
  /** The job's group (a tenant id, say): groups take turns, and setGroupLimits applies to each group. */
  group?: string;
  /** The job's id, chosen by the caller: enqueuing an id the queue holds creates nothing and returns that job. */
  jobId?: string;
  /** Ignore or merge new jobs that carry the same key (see Dedupe). */
  dedupe?: Dedupe;
  /**
   * The job stays `deferred` until every job named here has completed, then it is queued: ids of
   * this queue, { queue, id } of others, or ids of jobs in the same enqueueBulk call.
   */
  dependsOn?: DependencyRef[];
  /** When a dependency fails or is canceled: 'fail' (default), 'cancel', or 'ignore' (run anyway). */
  onDependencyFailure?: DependencyPolicy;
}

/** The job options stored as numeric hash fields: one list, so enqueue and reads agree. */
export const STORED_OPTIONS = ['timeoutMs', 'resultTtlMs', 'failedTtlMs', 'priority'] as const satisfies readonly (keyof JobOptions)[];
export type StoredOptions = Pick<JobOptions, (typeof STORED_OPTIONS)[number]>;

/** How many jobs a queue holds in each status (queue.getCounts()). */
export type JobCounts = Record<ListedStatus, number>;

/** The error of one failed try, kept on the record (the last 10). */
export interface AttemptError {
  attempt: number;
  failedAt: number;
  error: SerializedError;
}

/** What enqueue returns: enough to find the job again from any process. */
export interface JobRef {
  id: string;
  queue: string;
  name: string;
  /**
   * true when nothing new was created: the id was taken (`jobId`) or another job held the dedupe
   * key, and `id` names the job that stands (for debounce, the pending job that took the new data)
   */
  deduplicated: boolean;
}

export interface JobInfo<Data = unknown, Result = unknown> extends Omit<JobRef, 'deduplicated'> {
  data: Data;
  status: JobStatus;
  /** Handler starts so far; a run put back through no fault of its own does not count. */
  attempts: number;
  result?: Result;
  /** The last error: of the failed job, or of the try a retrying job waits to repeat. */
  error?: SerializedError;
  /** The errors of its last 10 failed tries, oldest first. */
  errors: AttemptError[];
  createdAt: number;
  /** For a delayed or retrying job: when it becomes runnable. */
  runAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** The last value its handler passed to ctx.progress (of any run). */
  progress?: unknown;
  opts: StoredOptions & Pick<JobOptions, 'attempts' | 'backoff' | 'group' | 'onDependencyFailure'> & { dependsOn?: JobAddress[] };
}
