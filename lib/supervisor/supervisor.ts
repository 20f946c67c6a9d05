import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { resolveSupervisorOptions, type ResolvedSupervisorOptions, type SupervisorOptions } from '../config';
import {
  ClosedError,
  CorruptJobError,
  ErrorCodes,
  JobTimeoutError,
  serializeError,
  UnknownHandlerError,
  type SerializedError,
} from '../errors';
import type { JobEventInfo, SupervisorEvents } from '../events';
import { JobPool, type PoolOutcome } from '../pool/pool';
import { BLOCK_LIMIT_MS, RedisBroker, type LeasedJob, type Released } from '../redis/broker';
import { clientName } from '../redis/keys';
import { isTransient, withRetry } from '../redis/retry';
import { resolveHandlers } from './handlers';
import { LeaseKeeper } from './lease-keeper';
import { backoffDelay, Latch, Notifier, sleep } from './notifier';
import { LOG_PREFIX } from '../logger';
import { OutcomeWriter, type Write } from './outcome-writer';
import { ReadyBuffer } from './ready-buffer';
import { onShutdownSignals } from './signals';

/** How long close() keeps trying to write the outcomes of runs it terminated. */
const FINAL_WRITE_MS = 5_000;

type WaitEnd = 'work' | 'timeout' | 'error';

interface HeldRun {
  queue: string;
  job: LeasedJob;
  info: JobEventInfo;
  timeoutMs: number;
}

/**
 * The actor that owns the Redis connections and the thread pool. Its loop: fetch as many jobs as
 * the pool has room for (queues in priority order), dispatch each to a thread, record each outcome
 * with its lease token, then emit the event. Nothing about a job is only in memory: a held run is
 * active with a lease in Redis until its outcome is written.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly id: string;
  private readonly options: ResolvedSupervisorOptions;
  private broker: RedisBroker | null = null;
  private pool: JobPool | null = null;
  private writer: OutcomeWriter | null = null;
  private handlerNames = new Set<string>();
  private readonly held = new Map<string, HeldRun>();
  private readonly ready: ReadyBuffer;
  private readonly slotFreed = new Notifier();
  private readonly stopRequested = new Latch();
  private readonly pendingWaits = new Map<string, Promise<WaitEnd>>();
  private readonly tokenBase = randomBytes(6).toString('hex');
  private fetchCount = 0;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private leases: LeaseKeeper | null = null;
  private detachSignals: (() => void) | null = null;
  private readonly graceCut = new Latch();
  /** stops every broker retry when close() begins */
  private readonly abort = new AbortController();
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.options = resolveSupervisorOptions(options);
    this.ready = new ReadyBuffer(this.options.prefetch, this.options.concurrency);
    this.id = `${hostname()}:${process.pid}:${this.tokenBase}`;
  }

  /** Jobs this supervisor holds: running on a thread, or finished with the outcome not yet written. */
  get running(): number {
    return this.held.size;
  }

  /** Live worker threads (more start on demand up to `threads`; idle ones are released). */
  get threadCount(): number {
    return this.pool?.threadCount ?? 0;
  }

  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('supervisor is closed'));
    this.starting ??= this.startOnce();
    return this.starting;
  }

  /**
   * Stops fetching and lets jobs in flight finish within `graceMs` (default `shutdownGraceMs`);
   * then terminates their threads and puts their jobs back without charging an attempt.
   * Idempotent: a second call returns the same promise, and one with `graceMs: 0` cuts the grace
   * of a close already under way (a cold shutdown).
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? this.options.shutdownGraceMs;
    if (this.closing) {
      if (graceMs === 0) this.graceCut.open();
      return this.closing;
    }
    this.closing = this.closeOnce(graceMs);
    return this.closing;
  }

  private async startOnce(): Promise<void> {
    const o = this.options;
    const handlers = resolveHandlers(o.handlers);
    const pool = new JobPool({
      threads: o.threads,
      concurrency: o.concurrency,
      handlers,
      timeoutGraceMs: o.timeoutGraceMs,
      maxResultBytes: o.maxResultBytes,
      recycleAfterJobs: o.recycleAfterJobs,
      threadIdleMs: o.threadIdleMs,
      ...(o.maxMemoryMb !== undefined ? { maxMemoryMb: o.maxMemoryMb } : {}),
    });
    try {
      this.handlerNames = new Set(await pool.start());
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    this.pool = pool;
    this.broker = new RedisBroker(o.connection, o.prefix, clientName(o.prefix, 'supervisor', this.id), {
      commandTimeoutMs: o.commandTimeoutMs,
      retryMaxDelayMs: o.retryMaxDelayMs,
    });
    this.broker.health.on('down', (e) => this.emitSafe('broker:down', e));
    this.broker.health.on('up', (e) => {
      this.emitSafe('broker:up', e);
      this.leases?.afterOutage();
    });
    const releaseSettings = { maxStalls: o.maxStalls, failedTtlMs: o.failedTtlMs, eventsMaxLen: o.eventsMaxLen };
    this.writer = new OutcomeWriter(
      this.broker,
      { ...releaseSettings, retryMaxDelayMs: o.retryMaxDelayMs },
      (w, state, now, error) => this.afterWrite(w, state, now, error),
      (err) => this.report(err),
    );
    this.leases = new LeaseKeeper(
      this.broker,
      { queues: o.queues, leaseMs: o.leaseMs, ...releaseSettings },
      {
        held: () => [...this.held.values()].map((r) => ({ queue: r.queue, id: r.job.id, token: r.job.token })),
        lost: (queue, id) =>
          o.logger.warn(`${LOG_PREFIX} lost the lease of job ${id} in queue ${queue}; its outcome will not be written here`),
        reaped: (queue, released) => this.afterReap(queue, released),
        error: (err) => this.report(err),
      },
    );
    this.leases.start();
    void this.warnIfUnsafe();
    if (o.handleSignals) this.detachSignals = onShutdownSignals((cold) => this.close(cold ? { graceMs: 0 } : {}), o.logger);
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const pool = this.pool!;
      this.startReady();
      const want = pool.free + this.ready.target() - this.ready.size;
      if (want <= 0) {
        await Promise.race([this.slotFreed.wait(), this.stopRequested.opened]);
        continue;
      }
      try {
        const taken = await this.fetchAll(want);
        failures = 0;
        if (taken > 0 || this.stopping) continue;
        // slots may have freed while the fetch was out: start the ready jobs before waiting
        if (pool.free > 0 && this.ready.size > 0) continue;
        if (pool.free > 0) await this.waitForWork();
        else await Promise.race([this.slotFreed.wait(), this.stopRequested.opened]);
      } catch (err) {
        if (this.stopping) break;
        this.report(err);
        await sleep(backoffDelay(failures++), this.stopRequested.opened);
      }
    }
  }

  /** Leases up to `wanted` jobs from the queues in priority order; returns how many were taken. */
  private async fetchAll(wanted: number): Promise<number> {
    const o = this.options;
    let taken = 0;
    for (const queue of o.queues) {
      const want = Math.min(wanted - taken, o.fetchBatchSize);
      if (want <= 0 || this.stopping) break;
      const tokenBase = `${this.tokenBase}.${(this.fetchCount++).toString(36)}`;
      // a fetch retried after a lost reply leases new jobs; those of the lost reply stall and are put back
      const { jobs, dropped } = await withRetry(() => this.broker!.fetch(queue, want, this.id, tokenBase, o.leaseMs), {
        maxDelayMs: o.retryMaxDelayMs,
        signal: this.abort.signal,
      });
      for (const d of dropped) o.logger.warn(`${LOG_PREFIX} dropped job id ${d.id} from the wait list of queue ${queue}: ${d.reason}`);
      for (const job of jobs) this.take(queue, job);
      taken += jobs.length + dropped.length;
    }
    return taken;
  }

  /**
   * Blocks (one connection per queue) until any queue has work or close() is called. A wait that
   * times out is simply renewed, without a fetch in between: an idle supervisor sends one command
   * per queue per BLOCK_LIMIT_MS, plus its heartbeat.
   */
  private async waitForWork(): Promise<void> {
    for (;;) {
      const waits = this.options.queues.map((queue) => {
        let wait = this.pendingWaits.get(queue);
        if (!wait) {
          // a failed wait (an outage) ends the wait: the next fetch retries with backoff
          wait = this.broker!.waitForWork(queue, BLOCK_LIMIT_MS)
            .then(
              (work): WaitEnd => (work ? 'work' : 'timeout'),
              (): WaitEnd => 'error',
            )
            .finally(() => this.pendingWaits.delete(queue));
          this.pendingWaits.set(queue, wait);
        }
        return wait;
      });
      const end = await Promise.race([...waits, this.stopRequested.opened.then((): WaitEnd => 'work')]);
      if (end !== 'timeout' || this.stopping) return;
    }
  }

  /** A leased job is held from here on; it starts after any ready job leased before it. */
  private take(queue: string, job: LeasedJob): void {
    const timeoutMs = job.timeoutMs ?? this.options.defaultTimeoutMs;
    const info: JobEventInfo = { id: job.id, queue, name: job.name, attempt: job.attempt };
    this.held.set(job.id, { queue, job, info, timeoutMs });
    this.ready.push({ queue, job });
    this.startReady();
  }

  /** Starts ready jobs in the order they were leased (queue priority first) while slots are free. */
  private startReady(): void {
    const pool = this.pool!;
    for (let next = pool.free > 0 ? this.ready.shift() : undefined; next; next = pool.free > 0 ? this.ready.shift() : undefined) {
      this.startRun(next.queue, next.job);
    }
  }

  private startRun(queue: string, job: LeasedJob): void {
    const { info, timeoutMs } = this.held.get(job.id)!;
    this.emitSafe('active', { job: info });
    const refusal = this.refusal(job);
    if (refusal) {
      this.record(job.id, { kind: 'failed', error: refusal });
      return;
    }
    const started = performance.now();
    void this.pool!.run({ id: job.id, queue, name: job.name, data: job.data, attempt: job.attempt, timeoutMs }).then((outcome) => {
      this.ready.recordRun(performance.now() - started);
      this.slotFreed.notify();
      this.record(job.id, outcome);
    });
  }

  /** A job that cannot run at all fails at once, without a thread. */
  private refusal(job: LeasedJob): SerializedError | null {
    if (job.name === '' || job.data === '') {
      return serializeError(new CorruptJobError(`job ${job.id} has a damaged record (name or data missing)`));
    }
    if (!this.handlerNames.has(job.name)) return serializeError(new UnknownHandlerError(job.name));
    return null;
  }

  private record(id: string, outcome: PoolOutcome): void {
    const run = this.held.get(id)!;
    const { queue, job } = run;
    if (outcome.kind === 'requeue') {
      const mode = outcome.counted ? 'counted' : 'free';
      this.writer!.add({ kind: 'release', queue, run: { id, token: job.token }, mode, reason: outcome.reason });
      return;
    }
    if (outcome.kind === 'timeout') {
      const error = serializeError(new JobTimeoutError(outcome.timeoutMs));
      this.emitSafe('timeout', { job: run.info, error, timeoutMs: outcome.timeoutMs });
      outcome = { kind: 'failed', error };
    }
    const completed = outcome.kind === 'completed';
    this.writer!.add({
      kind: 'finish',
      queue,
      outcome: {
        id,
        token: job.token,
        status: outcome.kind,
        payload: outcome.kind === 'completed' ? outcome.result : JSON.stringify(outcome.error),
        defaultTtlMs: completed ? this.options.resultTtlMs : this.options.failedTtlMs,
        name: job.name,
        attempt: job.attempt,
      },
    });
  }

  private afterWrite(write: Write, state: 'written' | Released['state'], now: number, error?: SerializedError): void {
    const id = write.kind === 'finish' ? write.outcome.id : write.run.id;
    const run = this.held.get(id);
    this.held.delete(id);
    if (!run) return;
    if (state === 'refused' || state === 'gone') {
      this.emitSafe('dropped', {
        job: run.info,
        reason: state === 'gone' ? 'the job record no longer exists' : 'the lease had passed on before the outcome was written',
      });
    } else if (write.kind === 'release') {
      if (state === 'failed') this.emitSafe('failed', { job: run.info, error: error ?? stallError(write.reason), finishedAt: now });
      else this.emitSafe('requeued', { job: run.info, reason: write.reason });
    } else if (write.outcome.status === 'completed') {
      this.emitSafe('completed', { job: run.info, result: JSON.parse(write.outcome.payload), finishedAt: now });
    } else {
      this.emitSafe('failed', { job: run.info, error: JSON.parse(write.outcome.payload) as SerializedError, finishedAt: now });
    }
  }

  /** Jobs of a dead supervisor that this one put back (or failed past maxStalls). */
  private afterReap(queue: string, released: Released[]): void {
    const now = Date.now();
    for (const r of released) {
      const job: JobEventInfo = { id: r.id, queue, name: r.name, attempt: r.attempts };
      if (r.state === 'requeued') this.emitSafe('stalled', { job, stalls: r.stalls });
      else if (r.state === 'failed') this.emitSafe('failed', { job, error: r.error ?? stallError('lease expired'), finishedAt: now });
    }
  }

  private async closeOnce(graceMs: number): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.stopping = true;
    this.stopRequested.open();
    this.abort.abort(new ClosedError('supervisor'));
    if (!this.broker || !this.pool || !this.writer || !this.leases) return;
    await this.broker.interruptBlocking();
    await this.loopDone;
    for (const { queue, job } of this.ready.drain()) {
      this.writer.add({ kind: 'release', queue, run: { id: job.id, token: job.token }, mode: 'free', reason: 'shutdown' });
    }
    if (!(await this.allWritten(graceMs, this.graceCut.opened))) {
      await this.pool.terminateAll('shutdown');
      if (!(await this.allWritten(FINAL_WRITE_MS))) {
        const left = this.writer.abandon();
        this.options.logger.error(
          `${LOG_PREFIX} closing with ${left.length} outcome(s) unwritten (Redis unreachable?); their jobs stay active until their leases expire, then another supervisor puts them back`,
        );
      }
    }
    await this.leases.stop();
    await this.pool.destroy();
    await this.broker.close();
    this.detachSignals?.(); // only now: a second signal during the grace must reach us
  }

  /** Resolves true once every held run is written, false when `ms` passes or `cut` resolves first. */
  private async allWritten(ms: number, cut?: Promise<void>): Promise<boolean> {
    const deadline = Date.now() + ms;
    let cutShort = false;
    void cut?.then(() => (cutShort = true));
    while (this.held.size > 0 || this.writer!.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || cutShort) return false;
      await sleep(Math.min(left, 20), cut);
    }
    return true;
  }

  /** Warns once at start when the server may lose accepted jobs (see the README's Durability section). */
  private async warnIfUnsafe(): Promise<void> {
    let settings: Record<string, string> | null;
    try {
      settings = await withRetry(() => this.broker!.serverSettings(), {
        maxDelayMs: this.options.retryMaxDelayMs,
        signal: this.abort.signal,
      });
    } catch {
      return;
    }
    if (!settings) return;
    const problems: string[] = [];
    if (settings.appendonly !== 'yes') problems.push('appendonly is "no": a Redis restart loses every job since the last snapshot');
    if (settings['maxmemory-policy'] && settings['maxmemory-policy'] !== 'noeviction') {
      problems.push(`maxmemory-policy is "${settings['maxmemory-policy']}": Redis may evict job records under memory pressure`);
    }
    if (problems.length > 0)
      this.options.logger.warn(
        `${LOG_PREFIX} the Redis server is set unsafely for a job queue: ${problems.join('; ')} (set appendonly yes, maxmemory-policy noeviction)`,
      );
  }

  /** Outages are reported once each, as broker:down / broker:up; anything else goes to `error`. */
  private report(err: unknown): void {
    if (isTransient(err)) return;
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount('error') > 0) this.emitSafe('error', error);
    else this.options.logger.error(`${LOG_PREFIX} ${error.message}`);
  }

  /** A listener that throws is logged; it never breaks the loop. */
  private emitSafe<E extends keyof SupervisorEvents>(event: E, ...args: Parameters<SupervisorEvents[E]>): void {
    try {
      (this.emit as (e: E, ...a: Parameters<SupervisorEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      this.options.logger.error(`${LOG_PREFIX} a listener of "${String(event)}" threw: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

function stallError(reason: string): SerializedError {
  return { name: 'JobStalledError', message: `job stalled more often than maxStalls allows (${reason})`, code: ErrorCodes.JOB_STALLED };
}
