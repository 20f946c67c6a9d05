import type { QueueMetrics } from './metrics';
import type { WorkerInfo } from './workers';
import type { Backoff } from './backoff';
import type { SerializedError } from './errors';
import type { StreamEvent } from './event-codec';
import type { FlowChanges, FlowSettings } from './flow';
import type { Dedupe } from './dedupe';
import type { JobAddress } from './dependencies';
import type { BrokerHealth } from './health';
import type { JobCounts, JobInfo, JobOptions } from './job';
import type { ScheduleInfo, ScheduleState, StoredSpec } from './schedule';
import type { JobStatus, LeaseReply, ListedStatus, ReleaseMode, WriteReply } from './states';

/**
 * What the supervisor and Queue need from a broker, in domain types only: no Redis hashes,
 * stream ids or client errors cross this line. Every method rejects with BrokerUnavailableError
 * when the broker cannot be reached (safe to retry: every write is idempotent) and with
 * BrokerError for anything else. RedisBroker is the one implementation today.
 */
export interface Broker {
  /** down / up, once per outage */
  readonly health: BrokerHealth;
  /** the longest a blocking call (waitForWork, readEvents) may be asked to wait */
  readonly maxBlockMs: number;
  /**
   * Writes new jobs; says per job which id stands (its own, or the job it was deduplicated to: a
   * resent call's own jobs count as created) and, when `replicas` is asked for, how many replicas
   * confirmed the write within `timeoutMs`. `callToken`: made once per call by the caller, so
   * that a resend of the call recognises its own jobs (default: a fresh one).
   */
  enqueue(
    queue: string,
    jobs: NewJob[],
    durability?: { replicas: number; timeoutMs: number },
    callToken?: string,
  ): Promise<{ standing: EnqueueOutcome[]; replicas: number }>;
  /** One round trip: writes outcomes and releases of finished runs, then leases up to `lease.count` jobs. */
  turn(queue: string, writes: Write[], lease: LeaseRequest | null): Promise<TurnResult>;
  /**
   * Blocks until the queue's wake-up marker says work may be runnable, or `maxWaitMs` passes,
   * and leases in the same round trip: jobs come back already leased (none with a null lease).
   */
  waitForWork(queue: string, lease: LeaseRequest | null, maxWaitMs: number): Promise<TurnResult>;
  /** Extends leases still held; returns the ids whose lease was lost. */
  renew(queue: string, runs: Run[], leaseMs: number): Promise<string[]>;
  /** Runs whose lease has expired by the broker's clock; with `trimRegistries`, also drops expired records from the finished registries. */
  expired(queue: string, limit: number, trimRegistries: boolean): Promise<Run[]>;
  getJob<D, R>(queue: string, id: string): Promise<JobInfo<D, R> | null>;
  /** Jobs of one status, newest first (see Queue.getJobs); records that expired meanwhile are left out. */
  getJobs<D, R>(queue: string, status: ListedStatus, offset: number, limit: number): Promise<JobInfo<D, R>[]>;
  getCounts(queue: string): Promise<JobCounts>;
  /**
   * Failed jobs back to queued: those named, or with no ids up to `limit` from the registry; says
   * how many, how many registry entries it looked at, and what each named one was. `token` (made
   * once per call by the caller) lets a call repeated after a lost reply see its own retry.
   */
  retryFailed(queue: string, ids: string[], limit: number, token: string): Promise<RetryOutcome>;
  /**
   * Cancels a job (see cancel-19.lua); returns the status it had (null: no record). Waiting ones
   * end canceled at once; an active one is asked to stop; a finished one is left alone. `ttlMs`:
   * how long the canceled record is kept when the job set no failedTtlMs.
   */
  cancel(queue: string, id: string, reason: string, ttlMs: number): Promise<JobStatus | null>;
  /**
   * Makes job `id` of `queue` a dependency of the job `dependentRef` names (keys.ts depRef); a
   * finished job answers with its outcome instead (see dep-link-3.lua).
   */
  linkDependency(queue: string, id: string, dependentRef: string): Promise<DependencyLink>;
  /** Delivers a finished dependency's outcome to dependent `id` of `queue` (once; see dep-resolve-18.lua). */
  resolveDependency(
    queue: string,
    id: string,
    depRef: string,
    status: string,
    outcome: string,
  ): Promise<{ state: string; handoff: boolean }>;
  /** Finished jobs of the queue whose dependents have yet to be told, at most `limit`. */
  handoffPending(queue: string, limit: number): Promise<HandoffItem[]>;
  /** Their dependents have been told: the records get their own TTL back. */
  handoffDone(queue: string, ids: string[]): Promise<void>;
  /** Whether each job has a record. */
  jobsExist(queue: string, ids: string[]): Promise<boolean[]>;
  /** Which of the jobs `among` were asked to cancel, with the reasons (usually none). */
  cancelRequests(queue: string, among: ReadonlySet<string>): Promise<Map<string, string>>;
  /** Progress and log lines of runs, each written only while its run holds the job; says which were. */
  writeNotes(queue: string, notes: NoteWrite[]): Promise<boolean[]>;
  /** A job's log lines, oldest first, from `offset`. */
  getLogs(queue: string, id: string, offset: number, limit: number): Promise<string[]>;
  /** Deletes a job that is not active; returns the status it had (null: no record; 'active': left alone). */
  remove(queue: string, id: string): Promise<JobStatus | null>;
  /** One bounded pass of clean over a finished registry (see clean-2.lua). */
  cleanPass(
    queue: string,
    status: 'completed' | 'failed',
    olderThanMs: number,
    limit: number,
    offset: number,
  ): Promise<{ deleted: number; kept: number; scanned: number }>;
  /** Creates or replaces a recurring schedule and its first tick (null: none); returns the pending tick's id. */
  setSchedule(
    queue: string,
    id: string,
    job: ScheduleJob,
    firstAt: number | null,
    anchor: number | null,
  ): Promise<{ pending: string; nextRunAt: number | null }>;
  /** Moves a schedule from its pending tick (as the caller saw it) to the next; false when someone else did, or it changed. */
  advanceSchedule(queue: string, id: string, pending: string, tickAt: number | null, nextAt: number | null): Promise<boolean>;
  removeSchedule(queue: string, id: string): Promise<boolean>;
  getSchedule(queue: string, id: string): Promise<ScheduleState | null>;
  listSchedules(queue: string): Promise<ScheduleInfo[]>;
  /** Schedules whose pending tick is gone or was taken without the schedule moving on. */
  staleSchedules(queue: string): Promise<ScheduleState[]>;
  /** Changes flow control fields (see flow.ts); takes effect at every supervisor's next lease. */
  setFlow(queue: string, changes: FlowChanges): Promise<void>;
  getFlow(queue: string): Promise<FlowSettings>;
  /** One bounded pass of drain: deletes queued and delayed jobs; says how many and how many ids are left. */
  drainPass(queue: string): Promise<{ deleted: number; left: number }>;
  /** The job's status and, once final, its result or error (reads nothing else); null when there is no record. */
  getOutcome(queue: string, id: string): Promise<JobOutcome | null>;
  /** Where a reader starts to see only events written from now on. */
  eventCursor(queue: string): Promise<EventCursor>;
  /** True once `cursor` is at or past `target`. */
  reached(cursor: EventCursor, target: EventCursor): boolean;
  /** Events after `cursor`, waiting up to `blockMs` for the first; on a connection of its own. */
  readEvents(queue: string, cursor: EventCursor, blockMs: number, count?: number): Promise<{ cursor: EventCursor; events: StreamEvent[] }>;
  /** The event stream's state, the supervisor registry, the per-minute metrics. */
  readonly observe: BrokerObservability;
  /** The server's durability settings brokkr relies on; null where the broker does not say. */
  durabilitySettings(): Promise<DurabilitySettings | null>;
  /**
   * Ends this supervisor's pending waits for work without losing what they lease: each returns
   * normally (a lease it took comes back with it) before this resolves.
   */
  endWaits(): Promise<void>;
  /** Ends this supervisor's blocking wait on one queue now (it returns as if woken by nothing); resolves when asked. */
  endWait(queue: string): Promise<void>;
  /** Ends pending blocking calls at once (they reject) and keeps the command connection open. */
  interruptBlocking(): Promise<void>;
  close(): Promise<void>;
}

/** What a retry of failed jobs did: how many went back, registry entries looked at, and each named id's status (null: no record). */
export interface RetryOutcome {
  retried: number;
  scanned: number;
  statuses: (JobStatus | null)[];
}

/** What each tick of a schedule enqueues. */
export interface ScheduleJob {
  spec: StoredSpec;
  name: string;
  /** JSON text */
  data: string;
  opts: JobOptions;
}

export interface JobOutcome {
  status: JobStatus;
  result?: unknown;
  error?: SerializedError;
}

export interface BrokerObservability {
  /** How many events the queue's stream ever had, holds now, and its first and last ids. */
  eventStreamState(queue: string): Promise<EventStreamState>;
  /** Up to `count` entries after `after` and the stream's state, read at one moment (no write between). */
  readEventBatch(queue: string, after: string, count: number): Promise<EventBatch>;
  /** Registers a supervisor (or renews it) for `ttlMs`; it drops out unless renewed. */
  register(info: WorkerInfo, ttlMs: number): Promise<void>;
  unregister(id: string, queues: string[]): Promise<void>;
  /** Live supervisors: those serving `queue`, or all. */
  workers(queue?: string): Promise<WorkerInfo[]>;
  /** The queue's per-minute metrics for the last `sinceMs`. */
  metrics(queue: string, sinceMs: number): Promise<QueueMetrics>;
}

/** A queue's event stream at one moment. */
export interface EventStreamState {
  /** entries ever written (trimmed ones included; 0 for a stream that does not exist; null when the server does not say, before Redis 7) */
  added: number | null;
  /** entries it holds now */
  length: number;
  /** its oldest entry's id, null when it holds none */
  firstId: string | null;
  /** the id of the last entry ever written ('0-0' for none) */
  lastId: string;
}

export interface EventBatch extends EventStreamState {
  /** every entry read, in order; `event` is null for an entry this version does not know */
  entries: { id: string; event: StreamEvent | null }[];
}

/** An opaque position in a queue's event stream: compare with `Broker.reached`, never parse. */
export type EventCursor = string & { readonly __eventCursor: unique symbol };

export interface DurabilitySettings {
  /** every acknowledged write survives a restart of the broker process */
  persistent: boolean;
  /** what the broker is set to do under memory pressure, when it may drop data ('noeviction' is safe) */
  evictionPolicy: string | null;
}

/** Settings a broker applies to every write of one supervisor. */
export interface WritePolicy {
  /** approximate cap on each queue's event stream */
  eventsMaxLen: number;
  /** largest result or error an event carries; larger ones are left out of (or trimmed in) the event */
  eventDataMaxBytes: number;
  /** puts back (counted or stalled) a job may have before it ends failed */
  maxStalls: number;
  /** most records kept in the completed / failed registry (the oldest beyond it are deleted); absent: no cap */
  keepCompleted?: number;
  keepFailed?: number;
  /** most log lines kept per job (default 1,000) */
  maxLogLines?: number;
}

/** Progress (JSON) and log lines of one run, gathered over a moment. */
export interface NoteWrite extends Run {
  progress?: string;
  logs: string[];
}

export type DependencyLink = { state: 'missing' | 'linked' } | { state: 'finished'; status: string; outcome: string };

/** A finished job with dependents to tell: its outcome (includes/deps.lua outcomeJson) and their refs. */
export interface HandoffItem {
  id: string;
  /** '' when its record is gone */
  status: string;
  outcome: string;
  dependents: string[];
}

export interface EnqueueOutcome {
  id: string;
  deduplicated: boolean;
}

export interface NewJob {
  id: string;
  name: string;
  /** JSON text of the job's data */
  data: string;
  opts: JobOptions;
  /** the caller chose the id (job option jobId) */
  chosenId?: boolean;
  /** the jobs it waits for (they must exist, or be in the same call; those of other queues linked first) */
  dependsOn?: JobAddress[];
  dedupe?: Dedupe;
  /** when it becomes runnable: at `runAt` (epoch ms), or `delayMs` after the broker's clock now; neither: now */
  runAt?: number;
  delayMs?: number;
  /** the enqueue's trace context (lib/tracing.ts), stored for the run's span */
  trace?: string;
}

/** A job leased to a supervisor: active in the broker until its outcome is written. */
export interface LeasedJob {
  id: string;
  token: string;
  name: string;
  /** JSON text, unparsed: it crosses the thread boundary as a string */
  data: string;
  attempt: number;
  createdAt: number;
  /** the enqueue's trace context, when it was traced */
  trace?: string;
  /** the job's own options, where it set them */
  timeoutMs?: number;
  resultTtlMs?: number;
  failedTtlMs?: number;
  /** tries in all (absent: 1) */
  maxAttempts?: number;
  backoff?: Backoff;
  /** the id of the recurring schedule this job is a tick of */
  schedule?: string;
  /** tries that failed so far (stalls and runs put back through no fault are not failed tries) */
  failedTries?: number;
  /** lower runs first */
  priority: number;
  group?: string;
  /** JSON array of the outcomes of the jobs it depended on (see ctx.dependencies) */
  dependencies?: string;
}

export interface LeaseRequest {
  count: number;
  /** the supervisor's id, stored on the job */
  owner: string;
  /** unique per call; each job's token is made from it */
  tokenBase: string;
  leaseMs: number;
}

/** The identity of one run: a job id and the token of the lease it ran under. */
export interface Run {
  id: string;
  token: string;
}

/**
 * What to record for one run. `ttlMs` is how long the record is kept once final (the job's own
 * TTL where it set one; 0 deletes it at once); a release uses it only when it fails the job.
 */
export type Write =
  | (Run & { kind: 'complete'; result: string; ttlMs: number })
  /** retryInMs: the try failed with tries left, the next one runs that much later (absent: the job fails) */
  | (Run & { kind: 'fail'; error: string; ttlMs: number; retryInMs?: number })
  /** holdMs: the whole queue takes no job for this long (ctx.rateLimit) */
  | (Run & { kind: 'release'; mode: ReleaseMode; reason: string; ttlMs: number; holdMs?: number })
  /** the run of a job asked to cancel (queue.cancel) has stopped: the job ends canceled */
  | (Run & { kind: 'cancel'; ttlMs: number });

export interface WriteResult {
  state: WriteReply;
  stalls: number;
  /** attempts after the write (a free or counted release gives one back) */
  attempts: number;
  name: string;
  /** the JobStalledError a release ended the job with (state 'failed'), or the JobCanceledError (state 'canceled') */
  error?: SerializedError;
  /** when state is 'retrying': when the next try becomes runnable (epoch ms, broker's clock) */
  nextRunAt?: number;
}

/** An id taken off the wait list that could not be leased. */
export interface DroppedId {
  id: string;
  reason: Exclude<LeaseReply, 'leased'>;
  /** the status the record had, for 'skipped' */
  status?: string;
}

export interface TurnResult {
  /** the broker's clock at the turn (epoch ms) */
  now: number;
  /** one per write, in order */
  written: WriteResult[];
  leased: LeasedJob[];
  dropped: DroppedId[];
  /** when the next job that is not runnable yet becomes due; null when none is waiting for a time */
  nextDueAt: number | null;
  /** the queue is paused: it leased nothing, and jobs held unstarted should go back */
  paused: boolean;
  /** the queue has a concurrency or rate limit: lease only for free threads, never ahead */
  limited: boolean;
  /** a job written has dependents to tell: run the hand-off (see lib/handoff.ts) */
  handoff?: boolean;
  /** waitForWork only: the marker woke it (rather than the time running out) */
  woken?: boolean;
}
