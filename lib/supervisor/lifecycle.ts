import type { ResolvedSupervisorOptions } from '../config';
import { ClosedError } from '../errors';
import { type LogFields, logSafely } from '../logger';
import { JobPool, threadQueueDepth } from '../pool/pool';
import { RedisBroker } from '../redis/broker';
import { clientName } from '../redis/keys';
import { withRetry } from '../retry';
import { CancelWatch } from './cancel-watch';
import { FetchLoop } from './fetch-loop';
import { HandoffRunner } from '../handoff';
import { resolveHandlers } from './handlers';
import { LeaseKeeper } from './lease-keeper';
import { NoteWriter } from './note-writer';
import { Latch, sleep } from './notifier';
import { ReadyBuffer } from './ready-buffer';
import { type Emit, type HeldRun, releaseWrite, Runs } from './runs';
import { ScheduleKeeper } from './schedule-keeper';
import { onShutdownSignals } from './signals';
import { Presence } from './presence';
import { SupervisorMeters } from './prometheus';
import { RunTracer } from '../tracing';
import type { JobEventInfo, SupervisorEvents } from '../events';

/** The events that end a run (and its span). */
const RUN_ENDS = new Set(['completed', 'failed', 'retrying', 'requeued', 'canceled', 'dropped', 'stalled']);

/** How long close() keeps trying to write the outcomes of runs it terminated. */
const FINAL_WRITE_MS = 5_000;

interface Parts {
  broker: RedisBroker;
  pool: JobPool<HeldRun>;
  runs: Runs;
  ready: ReadyBuffer<HeldRun>;
  fetch: FetchLoop;
  leases: LeaseKeeper;
  schedules: ScheduleKeeper;
  cancels: CancelWatch;
  notes: NoteWriter;
  handoffs: HandoffRunner;
  presence: Presence;
}

/**
 * A supervisor's life: start builds and wires the parts (broker, thread pool, the runs it holds,
 * the ready buffer, the fetch loop, the lease keeper) and close takes them down in order, so that
 * every job leased ends written, or put back, or (Redis unreachable) left to its lease.
 */
export class Lifecycle {
  private parts: Parts | null = null;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private readonly graceCut = new Latch();
  /** stops every broker retry when close() begins */
  private readonly abort = new AbortController();
  private detachSignals: (() => void) | null = null;

  constructor(
    private readonly options: ResolvedSupervisorOptions,
    private readonly id: string,
    private readonly tokenBase: string,
    private readonly emitOut: Emit,
    private readonly report: (err: unknown) => void,
  ) {}

  private meters: SupervisorMeters | null = null;
  private readonly tracer = new RunTracer();

  /** Every event leaves through here: the registry's counts, the Prometheus metrics and the run spans see each. */
  private readonly emit: Emit = (event, ...args) => {
    try {
      this.observe(event, args[0]);
    } catch (err) {
      this.report(err); // never at the cost of the event itself
    }
    this.emitOut(event, ...args);
  };

  private observe(event: keyof SupervisorEvents, payload: unknown): void {
    if (event === 'completed' || event === 'failed') this.parts?.presence.count(event);
    const job = (payload as { job?: JobEventInfo }).job;
    const run = event === 'active' && job ? this.parts?.runs.byId(job.id) : undefined;
    this.meters?.observe(event, payload as Parameters<SupervisorEvents['active']>[0], run?.createdAt);
    if (job && run) this.tracer.start(job, run.trace);
    else if (job && RUN_ENDS.has(event)) this.tracer.end(job.id, event, (payload as { error?: { message?: string } }).error);
    if (job && this.debugLogs) {
      const fields = { event: `job:${event}`, jobId: job.id, queue: job.queue, jobName: job.name, attempt: job.attempt };
      logSafely(this.options.logger, 'debug', fields, `job ${event}`);
    }
  }

  /** one debug line per job event, only for a logger set to show them (pino's isLevelEnabled) */
  private get debugLogs(): boolean {
    return this.options.logger.isLevelEnabled?.('debug') ?? false;
  }

  /** The Prometheus metrics, made on first use: from then on every event is counted. */
  metrics(): SupervisorMeters {
    this.meters ??= new SupervisorMeters({
      queues: this.options.queues,
      running: () => this.running,
      threadRestarts: () => this.parts?.pool.threadRestarts ?? 0,
      counts: async (queue) => (this.parts && !this.closing ? this.parts.broker.getCounts(queue) : null),
    });
    return this.meters;
  }

  get running(): number {
    return this.parts?.runs.size ?? 0;
  }

  get threadCount(): number {
    return this.parts?.pool.threadCount ?? 0;
  }

  start(): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError('supervisor'));
    this.starting ??= this.startOnce();
    return this.starting;
  }

  /** Idempotent; a call with graceMs 0 cuts the grace of a close already under way (cold shutdown). */
  close(graceMs: number): Promise<void> {
    if (this.closing) {
      if (graceMs === 0) this.graceCut.open();
      return this.closing;
    }
    this.closing = this.closeOnce(graceMs);
    return this.closing;
  }

  private async startOnce(): Promise<void> {
    const o = this.options;
    const { defaultTimeoutMs, resultTtlMs, failedTtlMs, backoffStrategies } = o;
    const runs = new Runs({ defaultTimeoutMs, resultTtlMs, failedTtlMs, backoffStrategies }, this.emit);
    const ready = new ReadyBuffer<HeldRun>(
      o.queues.length,
      o.prefetch,
      o.concurrency,
      o.threads * threadQueueDepth(o.concurrency, o.threads),
    );
    const broker = new RedisBroker({
      connection: o.connection,
      prefix: o.prefix,
      clientName: clientName(o.prefix, 'supervisor', this.id),
      commandTimeoutMs: o.commandTimeoutMs,
      retryMaxDelayMs: o.retryMaxDelayMs,
      policy: {
        eventsMaxLen: o.eventsMaxLen,
        eventDataMaxBytes: o.eventDataMaxBytes,
        maxStalls: o.maxStalls,
        ...(o.keepCompleted !== undefined ? { keepCompleted: o.keepCompleted } : {}),
        ...(o.keepFailed !== undefined ? { keepFailed: o.keepFailed } : {}),
        maxLogLines: o.maxLogLines,
      },
      waiterId: this.id,
    });
    // from the first connection attempt: a Redis that is away at start is an outage too
    broker.health.on('down', (e) => this.emit('broker:down', e));
    broker.health.on('up', (e) => {
      this.emit('broker:up', e);
      this.parts?.leases.afterOutage();
    });
    const schedules = new ScheduleKeeper(broker, o.retryMaxDelayMs, this.report);
    const handoffs = new HandoffRunner(broker, this.report);
    const notes = new NoteWriter(broker, {
      progressed: (run, progress) => this.emit('progress', { job: run.info, progress }),
      error: this.report,
    });
    let handlerNames = new Set<string>();
    const fetch: FetchLoop = new FetchLoop(
      broker,
      {
        queues: o.queues,
        owner: this.id,
        tokenBase: this.tokenBase,
        leaseMs: o.leaseMs,
        fetchBatchSize: o.fetchBatchSize,
        retryMaxDelayMs: o.retryMaxDelayMs,
      },
      {
        want: () => o.concurrency + ready.target() - pool.holding - ready.size,
        free: () => o.concurrency - pool.holding - ready.size,
        holdsUnstarted: (queueIndex) => ready.holds(queueIndex) || pool.holdsUnstarted((run) => run.queueIndex === queueIndex),
        paused: (queueIndex, queue) => {
          const unstarted = [...ready.takeQueue(queueIndex), ...pool.takeBackUnstarted((run) => run.queueIndex === queueIndex)];
          for (const run of unstarted) fetch.write({ queue, write: releaseWrite(run, 'free', 'paused'), run });
        },
        leased: (queueIndex, queue, jobs, dropped) => {
          for (const d of dropped) {
            const why = d.reason === 'missing' ? 'its record no longer exists' : `its record is ${d.status}, not queued`;
            this.log(
              'warn',
              { event: 'job:dropped', jobId: d.id, queue },
              `dropped job id ${d.id} from the wait list of queue ${queue}: ${why}`,
            );
          }
          for (const job of jobs) {
            if (job.schedule !== undefined) schedules.taken(queue, job);
            const run = runs.hold(queueIndex, queue, job);
            const refused = runs.refusal(run, handlerNames);
            if (refused) fetch.write({ queue, write: refused, run });
            // leased by a turn that was under way when close() began: straight back
            else if (this.closing) fetch.write({ queue, write: releaseWrite(run, 'free', 'shutdown'), run });
            else ready.push(queueIndex, run);
          }
          // jobs queued on threads and not started give way to a job that ranks before them
          const urgent = Math.min(...jobs.map((j) => j.priority));
          const overtaken = pool.takeBackUnstarted((run) => run.queueIndex === queueIndex && run.priority > urgent);
          for (const run of overtaken.reverse()) ready.giveBack(queueIndex, run);
          pool.offer();
        },
        written: (pending, result, now) => runs.written(pending.run, pending.write, result, now),
        handoff: (queue) => void handoffs.kick(queue),
        error: this.report,
      },
    );
    const pool: JobPool<HeldRun> = new JobPool<HeldRun>(
      {
        threads: o.threads,
        concurrency: o.concurrency,
        handlers: resolveHandlers(o.handlers),
        timeoutGraceMs: o.timeoutGraceMs,
        maxResultBytes: o.maxResultBytes,
        recycleAfterJobs: o.recycleAfterJobs,
        threadIdleMs: o.threadIdleMs,
        ...(o.maxMemoryMb !== undefined ? { maxMemoryMb: o.maxMemoryMb } : {}),
      },
      {
        waiting: () => ready.size,
        take: (max) => ready.take(max),
        giveBack: (jobs) => {
          for (const run of [...jobs].reverse()) {
            if (this.closing) fetch.write({ queue: run.queue, write: releaseWrite(run, 'free', 'shutdown'), run });
            else ready.giveBack(run.queueIndex, run);
          }
          pool.offer();
        },
        queueAhead: () => ready.target() > 0,
        dispatched: (run) => runs.dispatched(run),
        settled: (run, outcome) => {
          ready.recordRun(performance.now() - run.dispatchedAt);
          fetch.write({ queue: run.queue, write: runs.outcomeWrite(run, outcome), run });
        },
        noted: (run, progress, logs) => notes.add(run, progress, logs),
        error: this.report,
      },
    );
    try {
      handlerNames = new Set(await pool.start());
    } catch (err) {
      await pool.destroy();
      await broker.close();
      throw err;
    }
    const leases = new LeaseKeeper(
      broker,
      { queues: o.queues, leaseMs: o.leaseMs, failedTtlMs: o.failedTtlMs, ownTokenPrefix: `${this.tokenBase}.` },
      {
        held: () => runs.leases(),
        lost: (queue, lost) => {
          const run = runs.find(lost.id, lost.token);
          // not started yet: it is not run here at all; its new owner runs it
          if (run && (ready.remove(run.queueIndex, run) || pool.takeBack(run))) {
            runs.forget(run, 'its lease passed to another supervisor before it started');
          } else {
            this.log(
              'warn',
              { event: 'job:lease-lost', jobId: lost.id, queue },
              `lost the lease of job ${lost.id} in queue ${queue}; its outcome will not be written here`,
            );
          }
        },
        reaped: (queue, writes, results, now) => runs.reaped(queue, results, writes, now),
        // a hand-off a dead supervisor left halfway is finished here (also on start: the first beat tidies)
        tidy: async (queue) => {
          await schedules.repair(queue);
          await handoffs.kick(queue);
        },
        error: this.report,
      },
    );
    const cancels = new CancelWatch(broker, o.queues, {
      held: (queue) => new Set([...runs.leases()].filter((run) => run.queue === queue).map((run) => run.id)),
      cancel: (queue, id, reason) => {
        const run = runs.byId(id);
        if (!run || run.queue !== queue || run.cancelReason !== undefined) return;
        run.cancelReason = reason;
        // not started: it ends canceled now; running: stopped (see JobPool.cancel)
        if (ready.remove(run.queueIndex, run) || pool.cancel(run, reason) === 'taken-back') {
          fetch.write({ queue, write: runs.cancelWrite(run), run });
        }
      },
      error: this.report,
    });
    const { queues, concurrency, threads, heartbeatMs } = o;
    const presence = new Presence(broker, { id: this.id, queues, concurrency, threads, heartbeatMs }, () => runs.size, this.report);
    this.parts = { broker, pool, runs, ready, fetch, leases, schedules, cancels, notes, handoffs, presence };
    presence.start();
    cancels.start();
    leases.start();
    fetch.start();
    void this.warnIfUnsafe(broker);
    const { queues: served, concurrency: c, threads: t } = o;
    this.log(
      'info',
      { event: 'supervisor:started', id: this.id, queues: served, concurrency: c, threads: t },
      `serving ${served.join(', ')}`,
    );
    if (o.handleSignals) this.detachSignals = onShutdownSignals((cold) => this.close(cold ? 0 : o.shutdownGraceMs), o.logger);
  }

  private async closeOnce(graceMs: number): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.abort.abort(new ClosedError('supervisor'));
    const p = this.parts;
    if (!p) return;
    await p.fetch.stopLeasing();
    for (const run of [...p.pool.takeBackUnstarted(), ...p.ready.drain()]) {
      p.fetch.write({ queue: run.queue, write: releaseWrite(run, 'free', 'shutdown'), run });
    }
    if (!(await this.allWritten(p, graceMs, this.graceCut.opened))) {
      await p.pool.terminateAll('shutdown');
      if (!(await this.allWritten(p, FINAL_WRITE_MS))) {
        const left = await p.fetch.abandon();
        this.tracer.endAll('abandoned');
        this.meters?.forgetRuns();
        this.log(
          'error',
          { event: 'supervisor:outcomes-unwritten', count: left.length },
          `closing with ${left.length} outcome(s) unwritten (Redis unreachable?); their jobs stay active until their leases expire, then another supervisor puts them back`,
        );
      }
    }
    await p.leases.stop();
    await p.presence.stop();
    p.cancels.stop();
    p.notes.stop();
    await p.notes.flush().catch(() => undefined);
    await p.handoffs.idle();
    p.schedules.stop();
    await p.fetch.stop();
    await p.pool.destroy();
    await p.broker.close();
    this.log('info', { event: 'supervisor:closed', id: this.id }, 'closed');
    this.detachSignals?.(); // only now: a second signal during the grace must reach us
  }

  /** True once every held run is written; false when `ms` passes or `cut` resolves first. */
  private async allWritten(p: Parts, ms: number, cut?: Promise<void>): Promise<boolean> {
    const done = new Latch();
    const written = p.runs.whenEmpty().then(() => true);
    const gaveUp = sleep(ms, Promise.race([done.opened, ...(cut ? [cut] : [])])).then(() => false);
    const result = await Promise.race([written, gaveUp]);
    done.open(); // ends the sleep's timer
    return result;
  }

  /** Writes to the user's logger, which must never break the supervisor. */
  private log(level: 'warn' | 'error' | 'info', fields: LogFields, message: string): void {
    logSafely(this.options.logger, level, fields, message);
  }

  /** One warning at start when the server is set to lose accepted jobs (see the README's Durability section). */
  private async warnIfUnsafe(broker: RedisBroker): Promise<void> {
    let settings: Awaited<ReturnType<RedisBroker['durabilitySettings']>>;
    try {
      settings = await withRetry(() => broker.durabilitySettings(), {
        maxDelayMs: this.options.retryMaxDelayMs,
        signal: this.abort.signal,
      });
    } catch {
      return;
    }
    if (!settings) return;
    const problems: string[] = [];
    if (!settings.persistent) problems.push('appendonly is "no": a Redis restart loses every job since the last snapshot');
    if (settings.evictionPolicy && settings.evictionPolicy !== 'noeviction') {
      problems.push(`maxmemory-policy is "${settings.evictionPolicy}": Redis may evict job records under memory pressure`);
    }
    if (problems.length > 0) {
      this.log(
        'warn',
        { event: 'redis:unsafe-settings' },
        `the Redis server is set unsafely for a job queue: ${problems.join('; ')} (set appendonly yes, maxmemory-policy noeviction)`,
      );
    }
  }
}
