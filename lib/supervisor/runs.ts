import type { LeasedJob, Run, Write, WriteResult } from '../broker';
import { type Backoff, type BackoffStrategy, decideRetry } from '../backoff';
import {
  CorruptJobError,
  ErrorCodes,
  JobTimeoutError,
  type SerializedError,
  serializeError,
  UnknownHandlerError,
  ValidationError,
} from '../errors';
import type { JobEventInfo, RequeueReason, SupervisorEvents } from '../events';
import type { PoolJob, PoolOutcome } from '../pool/pool';

/** A leased job this supervisor holds: ready, running, or finished with its outcome not yet written. */
export interface HeldRun extends PoolJob, Run {
  /** lower runs first (the ready buffer keeps this order) */
  priority: number;
  /** index of its queue in the supervisor's list (its priority) */
  queueIndex: number;
  info: JobEventInfo;
  resultTtlMs: number;
  failedTtlMs: number;
  maxAttempts: number;
  backoff: Backoff | undefined;
  failedTries: number;
  /** performance.now() when it was handed to a thread */
  dispatchedAt: number;
  /** when its job was enqueued, epoch ms (Redis clock) */
  createdAt: number;
  /** the enqueue's trace context */
  trace?: string;
  /** set when its job was canceled (queue.cancel) while held here */
  cancelReason?: string;
}

export type Emit = <E extends keyof SupervisorEvents>(event: E, ...args: Parameters<SupervisorEvents[E]>) => void;

export interface RunDefaults {
  defaultTimeoutMs: number;
  resultTtlMs: number;
  failedTtlMs: number;
  backoffStrategies: Readonly<Record<string, BackoffStrategy>>;
}

/**
 * The runs a supervisor holds and what becomes of them: a pool outcome becomes the write that
 * records it, and once the broker confirms a write, the run is let go and its event emitted
 * (never before: a listener may rely on the outcome being stored). Every held run is active with
 * a lease in Redis; nothing about a job lives only here.
 */
export class Runs {
  private readonly held = new Map<string, HeldRun>();
  private emptyWaiters: (() => void)[] = [];

  constructor(
    private readonly defaults: RunDefaults,
    private readonly emit: Emit,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Resolves once no run is held: every outcome written. */
  whenEmpty(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** The leases to renew. */
  leases(): Iterable<HeldRun> {
    return this.held.values();
  }

  hold(queueIndex: number, queue: string, job: LeasedJob): HeldRun {
    const d = this.defaults;
    const run: HeldRun = {
      id: job.id,
      token: job.token,
      queue,
      queueIndex,
      name: job.name,
      data: job.data,
      attempt: job.attempt,
      timeoutMs: job.timeoutMs ?? d.defaultTimeoutMs,
      resultTtlMs: job.resultTtlMs ?? d.resultTtlMs,
      failedTtlMs: job.failedTtlMs ?? d.failedTtlMs,
      maxAttempts: job.maxAttempts ?? 1,
      backoff: job.backoff,
      failedTries: job.failedTries ?? 0,
      priority: job.priority,
      info: { id: job.id, queue, name: job.name, attempt: job.attempt },
      dispatchedAt: 0,
      createdAt: job.createdAt,
      ...(job.trace !== undefined ? { trace: job.trace } : {}),
      ...(job.dependencies !== undefined ? { dependencies: job.dependencies } : {}),
    };
    this.held.set(job.id, run);
    return run;
  }

  dispatched(run: HeldRun): void {
    run.dispatchedAt = performance.now();
    this.emit('active', { job: run.info });
  }

  /** A job that cannot run at all fails at once, without a thread; null when it can run. */
  refusal(run: HeldRun, handlerNames: ReadonlySet<string>): Write | null {
    let error: SerializedError | null = null;
    if (run.name === '' || run.data === '') {
      error = serializeError(new CorruptJobError(`job ${run.id} has a damaged record (name or data missing)`));
    } else if (!handlerNames.has(run.name)) {
      error = serializeError(new UnknownHandlerError(run.name));
    }
    if (!error) return null;
    this.emit('active', { job: run.info });
    return { kind: 'fail', id: run.id, token: run.token, error: JSON.stringify(error), ttlMs: run.failedTtlMs };
  }

  /** The write that records a pool outcome; a timeout is announced here, before it is written as failed. */
  outcomeWrite(run: HeldRun, outcome: PoolOutcome): Write {
    const { id, token } = run;
    // a canceled job that did not complete ends canceled, whatever stopped it
    if (outcome.kind === 'canceled' || (run.cancelReason !== undefined && outcome.kind !== 'completed')) return this.cancelWrite(run);
    switch (outcome.kind) {
      case 'completed':
        return { kind: 'complete', id, token, result: outcome.result, ttlMs: run.resultTtlMs };
      case 'failed':
        return this.failWrite(run, outcome.error);
      case 'timeout': {
        const error = serializeError(new JobTimeoutError(outcome.timeoutMs));
        this.emit('timeout', { job: run.info, error, timeoutMs: outcome.timeoutMs });
        return this.failWrite(run, error);
      }
      case 'requeue':
        return releaseWrite(run, outcome.counted ? 'counted' : 'free', outcome.reason);
      case 'rate-limited':
        return { ...releaseWrite(run, 'free', 'rate-limited'), holdMs: outcome.holdMs };
    }
  }

  /** The job was canceled while held here: it ends canceled (see writes.lua writeCancel). */
  cancelWrite(run: HeldRun): Write {
    return { kind: 'cancel', id: run.id, token: run.token, ttlMs: run.failedTtlMs };
  }

  /** A failed try: retried after its backoff while tries are left, else the job fails. */
  private failWrite(run: HeldRun, error: SerializedError): Write {
    const write: Write = { kind: 'fail', id: run.id, token: run.token, error: JSON.stringify(error), ttlMs: run.failedTtlMs };
    // this is failed try number failedTries + 1: stalls do not use up tries (they have maxStalls)
    const decision = decideRetry(run.failedTries + 1, run.maxAttempts, run.backoff, error, this.defaults.backoffStrategies);
    if (decision.retry) write.retryInMs = decision.delayMs;
    else if (decision.problem) {
      this.emit('error', new ValidationError(`job ${run.id} (${run.name}) failed without a retry: ${decision.problem}`));
    }
    return write;
  }

  /** The run of a job held here, whatever its lease. */
  byId(id: string): HeldRun | undefined {
    return this.held.get(id);
  }

  /** Finds a held run by its lease. */
  find(id: string, token: string): HeldRun | undefined {
    const run = this.held.get(id);
    return run?.token === token ? run : undefined;
  }

  /** A run that will never be written by this supervisor (its lease passed on): let go, reported as dropped. */
  forget(run: HeldRun, reason: string): void {
    this.letGo(run);
    this.emit('dropped', { job: run.info, reason });
  }

  /** The broker confirmed (or refused) a write: the run is let go and its event emitted. */
  written(run: HeldRun, write: Write, result: WriteResult, now: number): void {
    this.letGo(run);
    const job = run.info;
    switch (result.state) {
      case 'refused':
        this.emit('dropped', { job, reason: 'the lease had passed on before the outcome was written' });
        return;
      case 'gone':
        this.emit('dropped', { job, reason: 'the job record no longer exists' });
        return;
      case 'requeued':
        this.emit('requeued', { job, reason: (write as Extract<Write, { kind: 'release' }>).reason as RequeueReason });
        return;
      case 'failed':
        this.emit('failed', { job, error: result.error ?? stallError(), finishedAt: now });
        return;
      case 'canceled':
        this.emit('canceled', { job, reason: result.error?.reason ?? run.cancelReason ?? '', canceledAt: now });
        return;
      case 'retrying': {
        const { error, retryInMs = 0 } = write as Extract<Write, { kind: 'fail' }>;
        const nextRunAt = result.nextRunAt ?? now + retryInMs;
        this.emit('retrying', { job, error: JSON.parse(error) as SerializedError, delayMs: retryInMs, nextRunAt });
        return;
      }
      case 'written':
      case 'already':
        if (write.kind === 'complete') this.emit('completed', { job, result: JSON.parse(write.result), finishedAt: now });
        else if (write.kind === 'fail') this.emit('failed', { job, error: JSON.parse(write.error) as SerializedError, finishedAt: now });
    }
  }

  private letGo(run: HeldRun): void {
    if (this.held.get(run.id) === run) this.held.delete(run.id);
    if (this.held.size === 0 && this.emptyWaiters.length > 0) {
      for (const resolve of this.emptyWaiters.splice(0)) resolve();
    }
  }

  /**
   * Jobs whose leases expired that this supervisor put back: a dead supervisor's (stalled, or
   * failed past maxStalls), or its own that it never got (a lease whose reply was lost: freed).
   */
  reaped(queue: string, results: WriteResult[], writes: ReleaseWrite[], now: number): void {
    results.forEach((r, i) => {
      const write = writes[i]!;
      const job: JobEventInfo = { id: write.id, queue, name: r.name, attempt: r.attempts };
      if (r.state === 'requeued' && write.mode === 'free') this.emit('requeued', { job, reason: write.reason as RequeueReason });
      else if (r.state === 'requeued') this.emit('stalled', { job, stalls: r.stalls });
      else if (r.state === 'failed') this.emit('failed', { job, error: r.error ?? stallError(), finishedAt: now });
      else if (r.state === 'canceled') this.emit('canceled', { job, reason: r.error?.reason ?? '', canceledAt: now });
    });
  }
}

export type ReleaseWrite = Extract<Write, { kind: 'release' }>;

export function releaseWrite(run: HeldRun, mode: 'free' | 'counted', reason: RequeueReason): ReleaseWrite {
  return { kind: 'release', id: run.id, token: run.token, mode, reason, ttlMs: run.failedTtlMs };
}

function stallError(): SerializedError {
  return { name: 'JobStalledError', message: 'job stalled more often than maxStalls allows', code: ErrorCodes.JOB_STALLED };
}
