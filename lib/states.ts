/**
 * The one home of job statuses, the moves between them, and the names Lua scripts answer with.
 * The scripts do not spell any of these: the loader injects them as Lua tables (`S.queued`,
 * `R.written`, `M.free`, `E.completed`), so a rename here reaches every script.
 */

export const JOB_STATUSES = ['queued', 'active', 'completed', 'failed', 'delayed', 'retrying', 'canceled', 'deferred'] as const;

/**
 * queued: ready to run; active: leased to a supervisor; completed / failed: final; delayed: runs
 * at a due time; retrying: a try failed and the next one runs at a due time; canceled: final,
 * by queue.cancel(); deferred: waits for the jobs it depends on (dependsOn) to complete.
 */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The statuses a queue keeps a list or set of, so that its jobs can be listed and counted. */
export const LISTED_STATUSES = [
  'queued',
  'active',
  'delayed',
  'retrying',
  'deferred',
  'completed',
  'failed',
  'canceled',
] as const satisfies readonly JobStatus[];
export type ListedStatus = (typeof LISTED_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['completed', 'failed', 'canceled']);

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

/** Every move a script may make, named after the step that makes it. */
export const TRANSITIONS = {
  /** enqueue: a new record */
  create: { from: [], to: 'queued' },
  createDelayed: { from: [], to: 'delayed' },
  /** enqueue with dependsOn: waits until its dependencies are done */
  createDeferred: { from: [], to: 'deferred' },
  /** its last dependency completed (or failed, with onDependencyFailure 'ignore') */
  unblock: { from: ['deferred'], to: 'queued' },
  /** a dependency failed or was canceled, with onDependencyFailure 'fail' */
  dependencyFailed: { from: ['deferred'], to: 'failed' },
  /** a due delayed or retrying job becomes runnable */
  promote: { from: ['delayed', 'retrying'], to: 'queued' },
  /** a supervisor takes the job with a lease */
  lease: { from: ['queued'], to: 'active' },
  complete: { from: ['active'], to: 'completed' },
  fail: { from: ['active'], to: 'failed' },
  /** a failed try with tries left: the next one waits for its backoff */
  retry: { from: ['active'], to: 'retrying' },
  /** queue.retry(): a failed job runs again, its tries start over */
  retryFailed: { from: ['failed'], to: 'queued' },
  /** put back to waiting: no fault (free), a crash with no culprit (counted), an expired lease (stalled) */
  requeue: { from: ['active'], to: 'queued' },
  /** put back too often: past maxStalls */
  stallFail: { from: ['active'], to: 'failed' },
  /** queue.cancel(): at once when waiting; an active job once its run has stopped */
  cancel: { from: ['queued', 'delayed', 'retrying', 'active', 'deferred'], to: 'canceled' },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: JobStatus }>;

export type TransitionName = keyof typeof TRANSITIONS;

export function isAllowed(from: JobStatus | null, to: JobStatus): boolean {
  return Object.values(TRANSITIONS).some(
    (t) => t.to === to && (from === null ? t.from.length === 0 : (t.from as readonly string[]).includes(from)),
  );
}

/**
 * How a job is put back to waiting. free: not its fault (its thread was ended for another job,
 * shutdown), the attempt is given back; counted: its thread crashed with no known culprit, the
 * attempt is given back and a stall is counted; stalled: its lease expired (its supervisor died),
 * a stall is counted.
 */
export const RELEASE_MODES = ['free', 'counted', 'stalled'] as const;
export type ReleaseMode = (typeof RELEASE_MODES)[number];

/** What a script says about one write (an outcome or a release) of one run. */
export const WRITE_REPLIES = [
  'written',
  /** this very run's write was already stored: a call retried after its reply was lost */
  'already',
  /** the lease had passed on: another run owns the job now */
  'refused',
  /** the job record no longer exists */
  'gone',
  /** put back to waiting */
  'requeued',
  /** put back too often: the job ended failed */
  'failed',
  /** a failed try recorded, the next one scheduled */
  'retrying',
  /** the job had been asked to cancel: it ended canceled */
  'canceled',
] as const;
export type WriteReply = (typeof WRITE_REPLIES)[number];

/** What a script says about one id it took off the wait list. */
export const LEASE_REPLIES = [
  'leased',
  /** no record: the id is dropped */
  'missing',
  /** the record is not queued (a stray id): dropped without running the job twice */
  'skipped',
] as const;
export type LeaseReply = (typeof LEASE_REPLIES)[number];

/** Event names the scripts write to a queue's stream (see event-codec.ts for the payloads). */
export const STREAM_EVENTS = [
  'added',
  'delayed',
  'active',
  'completed',
  'failed',
  'retrying',
  'requeued',
  'stalled',
  'canceled',
  'progress',
  'paused',
  'resumed',
  'removed',
] as const;
export type StreamEventName = (typeof STREAM_EVENTS)[number];

/** The tables every Lua script starts with: S (statuses), M (release modes), R (replies), E (events). */
export function luaConstants(): string {
  const table = (name: string, values: readonly string[]) => `local ${name} = { ${values.map((v) => `${v} = '${v}'`).join(', ')} }`;
  return [
    table('S', JOB_STATUSES),
    table('M', RELEASE_MODES),
    table('R', [...WRITE_REPLIES, ...LEASE_REPLIES]),
    table('E', STREAM_EVENTS),
  ].join('\n');
}
