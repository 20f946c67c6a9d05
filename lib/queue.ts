import { checkQueueName, DEFAULT_FAILED_TTL_MS, resolveQueueOptions, type QueueOptions } from './config';
import { BrokerUnavailableError, ClosedError, JobNotFoundError, JobStateError, ReplicationError, ValidationError } from './errors';
import { PASS_SIZE } from './redis/registries';
import { checkScheduleSpec, nextTick, type ScheduleInfo, type ScheduleSpec } from './schedule';
import { LISTED_STATUSES, type ListedStatus } from './states';
import { uuidv7 } from './id';
import type { Broker } from './broker';
import type { JobCounts, JobInfo, JobOptions, JobRef } from './job';
import type { QueueMetrics } from './metrics';
import type { WorkerInfo } from './workers';
import { checkCount, checkJobOptions, checkScheduleId, describeValue } from './job-options';
import {
  checkConcurrency,
  checkGroupLimits,
  checkRateLimit,
  type FlowChanges,
  type FlowSettings,
  type GroupLimits,
  groupLimitFields,
  type RateLimit,
} from './flow';
import { clientBroker } from './redis/client-broker';
import { dependencyOrder } from './dependencies';
import { type BulkJob, linkDependencies, type PrepareSettings, prepareJob } from './new-jobs';
export type { BulkJob };
import { handOff } from './handoff';
import { ResultWaiter } from './result-waiter';
import { traceEnqueue } from './tracing';
import { isRetryable, withRetry } from './retry';

export interface WaitOptions {
  /** Give up after this long with WaitTimeoutError; 0 waits without limit. @default 0 */
  timeoutMs?: number;
}

/**
 * The producer side of one queue: enqueue jobs, read their records, wait for outcomes. Safe to
 * use from any process; it never talks to threads.
 *
 * @typeParam Data the job data this queue carries
 * @typeParam Result what its handlers return
 */
export class Queue<Data = unknown, Result = unknown> {
  readonly name: string;
  private readonly maxPayloadBytes: number;
  private readonly brokerWaitMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly waitForReplicas: number;
  private readonly replicaWaitMs: number;
  private readonly defaultJobOptions: JobOptions;
  private readonly broker: Broker;
  private readonly waiter: ResultWaiter;
  private closed = false;

  constructor(name: string, options: QueueOptions = {}) {
    this.name = checkQueueName(name);
    const o = resolveQueueOptions(options);
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.brokerWaitMs = o.brokerWaitMs;
    this.retryMaxDelayMs = o.retryMaxDelayMs;
    this.waitForReplicas = o.waitForReplicas;
    this.replicaWaitMs = o.replicaWaitMs;
    checkJobOptions(o.defaultJobOptions, 'defaultJobOptions: ');
    this.defaultJobOptions = o.defaultJobOptions;
    this.broker = clientBroker(o, 'queue', name);
    this.waiter = new ResultWaiter(this.broker, this.name, (what, operation) => this.whileReachable(what, operation));
  }

  /**
   * Adds a job; resolves once it is stored in Redis. The id is made here (or is the `jobId` option),
   * so a resent write cannot make a second job. `deduplicated` says when nothing new was made.
   */
  async enqueue(name: string, data: Data, opts: JobOptions = {}): Promise<JobRef> {
    const [ref] = await this.enqueueBulk([{ name, data, opts }]);
    return ref!;
  }

  /** Adds many jobs, one round trip per 1,000; nothing is written when any job is invalid. */
  async enqueueBulk(jobs: BulkJob<Data>[]): Promise<JobRef[]> {
    this.assertOpen();
    if (!Array.isArray(jobs)) throw new ValidationError('enqueueBulk expects an array of { name, data, opts? }');
    const unordered = jobs.map((job, i) => prepareJob(job, jobs.length === 1 ? '' : `jobs[${i}]: `, this.prepareSettings));
    // dependencies first, so that what is known at enqueue passes down the graph at once
    const order = dependencyOrder(unordered, this.name);
    const prepared = order.map((i) => unordered[i]!);
    await linkDependencies(this.broker, this.name, prepared, (what, operation) => this.whileReachable(what, operation));
    // resending is safe: the ids are made here, and a job whose id exists is not created twice
    const durability = { replicas: this.waitForReplicas, timeoutMs: this.replicaWaitMs };
    const callToken = uuidv7();
    const { standing, replicas } = await traceEnqueue(this.name, prepared, (trace) => {
      for (const job of prepared) if (trace) job.trace = trace;
      return this.whileReachable('enqueue', () => this.broker.enqueue(this.name, prepared, durability, callToken));
    });
    const refs: JobRef[] = new Array(jobs.length);
    order.forEach((original, i) => {
      refs[original] = { ...standing[i]!, queue: this.name, name: prepared[i]!.name };
    });
    if (replicas < this.waitForReplicas) {
      const message = `enqueue: the jobs are written on the master, but ${replicas} of the ${this.waitForReplicas} replica(s) asked for (waitForReplicas) confirmed them within ${this.replicaWaitMs} ms; a failover now could lose them`;
      throw new ReplicationError(message, refs);
    }
    return refs;
  }

  /** The job's record, or null when the id is unknown or the record has expired. */
  getJob(id: string): Promise<JobInfo<Data, Result> | null> {
    return this.read('getJob', () => this.broker.getJob<Data, Result>(this.name, id));
  }

  /**
   * Jobs of one status. Queued: in the order each group takes them (by priority, then arrival),
   * those without a group first, then the grouped ones. The others newest first: active by lease,
   * delayed and retrying by due time (latest first), completed and failed by when their record
   * expires (with equal TTLs, newest finished first). `limit` at most 1,000.
   */
  async getJobs(options: { status: ListedStatus; offset?: number; limit?: number }): Promise<JobInfo<Data, Result>[]> {
    this.assertOpen();
    const { status, offset = 0, limit = 50 } = options ?? ({} as { status: ListedStatus });
    if (!(LISTED_STATUSES as readonly string[]).includes(status)) {
      throw new ValidationError(`getJobs: status must be one of ${LISTED_STATUSES.join(', ')}, got ${describeValue(status)}`);
    }
    checkCount('getJobs: offset', offset, 0);
    checkCount('getJobs: limit', limit, 1, 1000);
    return this.whileReachable('getJobs', () => this.broker.getJobs<Data, Result>(this.name, status, offset, limit));
  }

  /** How many jobs the queue holds in each status, read in one round trip. */
  getCounts(): Promise<JobCounts> {
    return this.read('getCounts', () => this.broker.getCounts(this.name));
  }

  /** The live supervisors serving this queue, as their last heartbeat described them. */
  getWorkers(): Promise<WorkerInfo[]> {
    return this.read('getWorkers', () => this.broker.observe.workers(this.name));
  }

  /** Every live supervisor under this queue's prefix, whatever queues it serves. */
  getAllWorkers(): Promise<WorkerInfo[]> {
    return this.read('getAllWorkers', () => this.broker.observe.workers());
  }

  /** Completed and failed counts and wait and run time percentiles per minute, for the last `sinceMs` (default an hour, at most a day). */
  async getMetrics(options: { sinceMs?: number } = {}): Promise<QueueMetrics> {
    const sinceMs = options.sinceMs ?? 3_600_000;
    checkCount('getMetrics: sinceMs', sinceMs, 1);
    return this.read('getMetrics', () => this.broker.observe.metrics(this.name, sinceMs));
  }

  /** Puts a failed job back to `queued`: its tries start over, its earlier errors are kept. */
  async retry(id: string): Promise<void> {
    this.assertOpen();
    const token = uuidv7(); // one per call: a resend after a lost reply recognises its own retry
    const { statuses } = await this.whileReachable('retry', () => this.broker.retryFailed(this.name, [id], 1, token));
    const status = statuses[0] ?? null;
    if (status === null) throw new JobNotFoundError(id, `queue ${this.name} has no record of it (never enqueued, expired or removed)`);
    if (status !== 'failed') throw new JobStateError(id, status, `retry: job ${id} is ${status}; only a failed job can be retried`);
  }

  /** Puts every failed job back to `queued`, 1,000 per round trip; resolves with how many. */
  async retryAll(options: { status?: 'failed' } = {}): Promise<number> {
    this.assertOpen();
    if ((options.status ?? 'failed') !== 'failed') {
      throw new ValidationError(`retryAll: status must be "failed", got ${describeValue(options.status)}`);
    }
    let total = 0;
    for (;;) {
      const { retried, scanned } = await this.whileReachable('retryAll', () => this.broker.retryFailed(this.name, [], PASS_SIZE, ''));
      total += retried;
      if (scanned < PASS_SIZE) return total;
    }
  }

  /**
   * A job's log lines (ctx.log), oldest first: at most `limit` (default and at most 1,000) from
   * `offset`. A job keeps its last maxLogLines lines (a supervisor option, default 1,000), as long
   * as its record; an unknown id has none.
   */
  async getLogs(id: string, options: { offset?: number; limit?: number } = {}): Promise<string[]> {
    const { offset = 0, limit = 1000 } = options ?? {};
    checkCount('getLogs: offset', offset, 0);
    checkCount('getLogs: limit', limit, 1, 1000);
    return this.read('getLogs', () => this.broker.getLogs(this.name, id, offset, limit));
  }

  /**
   * Cancels a job from any process. A queued, delayed or retrying job ends `canceled` at once and
   * never runs ('canceled'). An active one ('canceling'): its supervisor aborts its ctx.signal with
   * a JobCanceledError and ends its thread if it has not returned after timeoutGraceMs; it ends
   * `canceled` and is never retried. A canceled job answers 'canceled' again; a completed or
   * failed one is a JobStateError, an unknown id a JobNotFoundError.
   */
  async cancel(id: string, reason = ''): Promise<'canceled' | 'canceling'> {
    this.assertOpen();
    if (typeof id !== 'string' || id.length === 0)
      throw new ValidationError(`cancel: id must be a non-empty string, got ${describeValue(id)}`);
    if (typeof reason !== 'string' || reason.length > 1000) {
      throw new ValidationError(`cancel: reason must be a string of at most 1,000 characters, got ${describeValue(reason)}`);
    }
    const status = await this.whileReachable('cancel', () => this.broker.cancel(this.name, id, reason, DEFAULT_FAILED_TTL_MS));
    if (status === null) throw new JobNotFoundError(id, `queue ${this.name} has no record of it (never enqueued, expired or removed)`);
    if (status === 'active') return 'canceling';
    if (status === 'completed' || status === 'failed') throw new JobStateError(id, status, `cancel: job ${id} has already ${status}`);
    // jobs that depend on it learn now (else the queue's supervisors would tell them later)
    await this.whileReachable('cancel', () => handOff(this.broker, this.name));
    return 'canceled';
  }

  /** Deletes a job that is not active; false when there is no such job. An active job is a JobStateError. */
  async remove(id: string): Promise<boolean> {
    this.assertOpen();
    const status = await this.whileReachable('remove', () => this.broker.remove(this.name, id));
    if (status === 'active') throw new JobStateError(id, status, `remove: job ${id} is active; it can be removed once it has finished`);
    return status !== null;
  }

  /**
   * Deletes completed or failed records that finished at least `olderThanMs` ago (default 0: all),
   * at most `limit` of them (default: no limit), in passes of 1,000; resolves with how many.
   */
  async clean(options: { status: 'completed' | 'failed'; olderThanMs?: number; limit?: number }): Promise<number> {
    this.assertOpen();
    const { status, olderThanMs = 0, limit = Number.MAX_SAFE_INTEGER } = options ?? ({} as { status: 'completed' });
    if (status !== 'completed' && status !== 'failed') {
      throw new ValidationError(`clean: status must be "completed" or "failed", got ${describeValue(status)}`);
    }
    checkCount('clean: olderThanMs', olderThanMs, 0);
    checkCount('clean: limit', limit, 1);
    let deleted = 0;
    let offset = 0;
    for (;;) {
      const pass = await this.whileReachable('clean', () => this.broker.cleanPass(this.name, status, olderThanMs, limit - deleted, offset));
      deleted += pass.deleted;
      offset += pass.kept;
      if (deleted >= limit || pass.scanned < PASS_SIZE) return deleted;
    }
  }

  /** Deletes every queued and delayed job (retrying ones stay); resolves with how many. */
  async drain(): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (;;) {
      const pass = await this.whileReachable('drain', () => this.broker.drainPass(this.name));
      deleted += pass.deleted;
      if (pass.left === 0) return deleted;
    }
  }

  /** Every supervisor of the queue stops starting its jobs (within 1 s); running jobs finish, enqueue goes on. */
  async pause(): Promise<void> {
    await this.setFlow('pause', { paused: 1 });
  }

  /** Jobs start again (within 1 s). */
  async resume(): Promise<void> {
    await this.setFlow('resume', { paused: '' });
  }

  async isPaused(): Promise<boolean> {
    return (await this.getFlow('isPaused')).paused;
  }

  /** At most `max` jobs of the queue start in any `durationMs`, across all supervisors; the rest wait. */
  async setRateLimit(limit: RateLimit): Promise<void> {
    const { max, durationMs } = checkRateLimit(limit, 'setRateLimit');
    await this.setFlow('setRateLimit', { rateMax: max, rateMs: durationMs });
  }

  async getRateLimit(): Promise<RateLimit | null> {
    return (await this.getFlow('getRateLimit')).rateLimit;
  }

  async removeRateLimit(): Promise<void> {
    await this.setFlow('removeRateLimit', { rateMax: '', rateMs: '' });
  }

  /** At most `n` jobs of the queue active at once, across all supervisors. */
  async setConcurrency(n: number): Promise<void> {
    await this.setFlow('setConcurrency', { concurrency: checkConcurrency(n, 'setConcurrency') });
  }

  async getConcurrency(): Promise<number | null> {
    return (await this.getFlow('getConcurrency')).concurrency;
  }

  async removeConcurrency(): Promise<void> {
    await this.setFlow('removeConcurrency', { concurrency: '' });
  }

  /** Limits each group on its own (a per-tenant limit); a limit left out is removed, so `{}` removes both. */
  async setGroupLimits(limits: GroupLimits): Promise<void> {
    await this.setFlow('setGroupLimits', groupLimitFields(checkGroupLimits(limits)));
  }

  async getGroupLimits(): Promise<GroupLimits> {
    return (await this.getFlow('getGroupLimits')).groupLimits;
  }

  /**
   * Creates or replaces recurring schedule `id`: each tick enqueues job `name` with `data` and
   * `opts` (not delayMs / runAt). Replacing a schedule deletes its pending tick unless it is due.
   * Resolves with when the first tick is due (null when the schedule has already ended).
   */
  async schedule(id: string, spec: ScheduleSpec, name: string, data: Data, opts: JobOptions = {}): Promise<{ nextRunAt: number | null }> {
    this.assertOpen();
    checkScheduleId(id);
    const stored = checkScheduleSpec(spec);
    if (typeof opts === 'object' && opts !== null && ('delayMs' in opts || 'runAt' in opts)) {
      throw new ValidationError('schedule: job options "delayMs" and "runAt" do not apply: the schedule says when each tick runs');
    }
    if (typeof opts === 'object' && opts !== null && ('jobId' in opts || 'dedupe' in opts || 'dependsOn' in opts)) {
      throw new ValidationError('schedule: job options "jobId", "dedupe" and "dependsOn" do not apply: each tick makes a job of its own');
    }
    const job = prepareJob({ name, data, opts }, 'schedule: ', this.prepareSettings);
    const now = Date.now();
    // an interval schedule without startAt is anchored at its first tick, so every process plans the same ticks
    const anchor = stored.everyMs !== undefined && stored.startAt === undefined ? now + stored.everyMs : null;
    const firstAt = nextTick(stored, now, anchor);
    const scheduleJob = { spec: stored, name: job.name, data: job.data, opts: job.opts };
    const { nextRunAt } = await this.whileReachable('schedule', () => this.broker.setSchedule(this.name, id, scheduleJob, firstAt, anchor));
    return { nextRunAt };
  }

  /** Removes schedule `id` and its pending tick (unless due); false when there was none. */
  async unschedule(id: string): Promise<boolean> {
    this.assertOpen();
    checkScheduleId(id);
    return this.whileReachable('unschedule', () => this.broker.removeSchedule(this.name, id));
  }

  /** The queue's schedules, by id, with their next and last run times. */
  async schedules(): Promise<ScheduleInfo[]> {
    this.assertOpen();
    return this.whileReachable('schedules', () => this.broker.listSchedules(this.name));
  }

  /**
   * Resolves with the job's result once it completes. Rejects with JobFailedError (its `cause` is
   * the stored error), WaitTimeoutError, or JobNotFoundError when the id is unknown or expired.
   */
  async waitForResult(id: string, options: WaitOptions = {}): Promise<Result> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? 0;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
      throw new ValidationError(`waitForResult: timeoutMs must be an integer >= 0, got ${String(timeoutMs)}`);
    }
    return this.waiter.wait<Result>(id, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter.close();
    await this.broker.close();
  }

  private async setFlow(what: string, changes: FlowChanges): Promise<void> {
    this.assertOpen();
    await this.whileReachable(what, () => this.broker.setFlow(this.name, changes));
  }

  private getFlow(what: string): Promise<FlowSettings> {
    return this.read(what, () => this.broker.getFlow(this.name));
  }

  private async read<T>(what: string, operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.whileReachable(what, operation);
  }

  /** Retries an operation through an outage for up to brokerWaitMs, then gives up with BrokerUnavailableError. */
  private async whileReachable<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(operation, { maxDelayMs: this.retryMaxDelayMs, maxElapsedMs: this.brokerWaitMs });
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const note =
        what === 'enqueue' ? '; the jobs were not accepted (a write that reached Redis just before the outage may still run)' : '';
      throw new BrokerUnavailableError(
        `${what}: Redis did not answer within brokerWaitMs (${this.brokerWaitMs} ms)${note}: ${(err as Error).message}`,
        err,
      );
    }
  }

  private get prepareSettings(): PrepareSettings {
    return { queue: this.name, maxPayloadBytes: this.maxPayloadBytes, defaults: this.defaultJobOptions };
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`queue ${this.name}`);
  }
}
