import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ErrorCodes, HandlerLoadError, type SerializedError } from '../errors';
import type { RequeueReason } from '../events';
import {
  OUTCOME_TAG,
  type BatchTask,
  type OutcomeItems,
  type OutcomeMessage,
  type ProbeReply,
  type RunTask,
  type ThreadData,
} from './protocol';

/** piscina's view of a thread, as its load balancer sees it (the type is not exported by name) */
type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaWorker = Parameters<LoadBalancer>[1][number];

export interface PoolOptions {
  threads: number;
  /** jobs in flight at once; above `threads`, async jobs share threads */
  concurrency: number;
  handlers: ThreadData['handlers'];
  timeoutGraceMs: number;
  maxMemoryMb?: number;
  maxResultBytes: number;
  /** a thread is replaced after running this many jobs; 0: never */
  recycleAfterJobs: number;
  /** threads beyond the first are released after this long idle */
  threadIdleMs: number;
}

export interface PoolJob {
  id: string;
  queue: string;
  name: string;
  data: string;
  attempt: number;
  /** 0: no limit */
  timeoutMs: number;
}

/**
 * What became of a run; the pool never rejects. A `counted` requeue is charged against the job's
 * maxStalls: it was on a crashed thread that no job could be blamed for.
 */
export type PoolOutcome =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'requeue'; reason: RequeueReason; counted: boolean };

type Fate = Exclude<PoolOutcome, { kind: 'completed' }>;

interface RunState {
  runId: number;
  slot: number;
  timeoutMs: number;
  /** 0 until the handler has started */
  threadId: number;
  /** when the thread is terminated if the run has not ended; Infinity while unknown or unlimited */
  hardDeadline: number;
  /** how the run ended when its thread ended first, decided once for all runs on that thread */
  fate: Fate | null;
  settle: (outcome: PoolOutcome) => void;
}

/** How often in-flight runs are checked against their deadlines: one timer for all runs. */
const TICK_MS = 20;

/**
 * The only user of piscina. Runs one job per task on a thread, enforces each job's timeout by
 * terminating the thread that runs it (piscina replaces it), decides who is to blame when a
 * thread dies, and turns every ending into a plain outcome. Knows nothing about Redis.
 */
export class JobPool {
  private readonly piscina: Piscina;
  private readonly startedOn: Int32Array;
  private readonly startedAt: Float64Array;
  private readonly exitedBy: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly runs = new Map<number, RunState>();
  /** per thread id: jobs the balancer gave it, and jobs it has finished (only with recycleAfterJobs) */
  private readonly assigned = new Map<number, number>();
  private readonly finished = new Map<number, number>();
  private ticker: NodeJS.Timeout | null = null;
  private nextRunId = 1;
  /** jobs handed over in this turn of the event loop, not yet sent to a thread */
  private outgoing: RunTask[] = [];
  /** how many jobs the task being placed carries (read by the load balancer) */
  private placing = 1;
  /** a probe is out to make piscina start one more thread */
  private growing = false;

  constructor(private readonly options: PoolOptions) {
    const slots = options.concurrency;
    const workerData: ThreadData = {
      handlers: options.handlers,
      startedOn: new SharedArrayBuffer(4 * slots),
      startedAt: new SharedArrayBuffer(8 * slots),
      exitedBy: new SharedArrayBuffer(4 * slots),
      maxResultBytes: options.maxResultBytes,
    };
    this.startedOn = new Int32Array(workerData.startedOn);
    this.startedAt = new Float64Array(workerData.startedAt);
    this.exitedBy = new Int32Array(workerData.exitedBy);
    for (let slot = slots - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    this.piscina = new Piscina({
      ...threadEntry(),
      minThreads: 1,
      maxThreads: options.threads,
      idleTimeout: options.threadIdleMs,
      // brokkr counts jobs in flight itself; piscina only has to place batches
      concurrentTasksPerWorker: options.concurrency,
      loadBalancer: (task, workers) => this.pickThread(task.name, workers),
      workerData,
      ...(options.maxMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb } } : {}),
    });
    // a thread that dies with no task on it is replaced; the event must have a listener
    this.piscina.on('error', () => undefined);
    this.piscina.on('message', (message: unknown) => this.onThreadMessage(message));
  }

  get free(): number {
    return this.freeSlots.length;
  }

  /** Live threads (piscina starts more on demand, up to `threads`, and releases idle ones). */
  get threadCount(): number {
    return this.piscina.threads.length;
  }

  /** Starts every thread and loads the handler modules; resolves with the job names they provide. */
  async start(): Promise<string[]> {
    const replies = await Promise.all(Array.from({ length: this.options.threads }, () => this.probe()));
    return replies[0]!;
  }

  private async probe(): Promise<string[]> {
    const reply = (await this.piscina.run({ kind: 'probe' }, { name: 'probe' })) as ProbeReply;
    if (!reply.ok) throw new HandlerLoadError(reply.error.message);
    return reply.names;
  }

  /**
   * Runs a job; the caller keeps within `free` slots. Jobs handed over in the same turn of the
   * event loop leave together, split into one batch message per thread.
   */
  run(job: PoolJob): Promise<PoolOutcome> {
    const slot = this.freeSlots.pop();
    if (slot === undefined) return Promise.reject(new Error('JobPool.run called with no free slot'));
    Atomics.store(this.startedOn, slot, 0);
    Atomics.store(this.exitedBy, slot, 0);
    const runId = this.nextRunId++;
    return new Promise<PoolOutcome>((settle) => {
      this.runs.set(slot, { runId, slot, timeoutMs: job.timeoutMs, threadId: 0, hardDeadline: Infinity, fate: null, settle });
      if (job.timeoutMs > 0) this.ensureTicker();
      this.outgoing.push({ runId, slot, ...job });
      if (this.outgoing.length === 1) queueMicrotask(() => this.sendBatches());
    });
  }

  private sendBatches(): void {
    const jobs = this.outgoing;
    this.outgoing = [];
    const parts = Math.min(this.options.threads, jobs.length);
    for (let p = 0; p < parts; p++) {
      const batch = jobs.slice(Math.floor((p * jobs.length) / parts), Math.floor(((p + 1) * jobs.length) / parts));
      this.placing = batch.length;
      this.piscina.run({ kind: 'batch', jobs: batch } satisfies BatchTask).then(
        (rest: OutcomeItems) => this.settleOutcomes(rest),
        // outcomes travel on another channel than piscina's reply: let those already sent arrive first
        (err: unknown) => setImmediate(() => this.batchDied(batch, err)),
      );
    }
    this.placing = 1;
  }

  private onThreadMessage(message: unknown): void {
    const items = (message as Partial<OutcomeMessage> | null)?.[OUTCOME_TAG];
    if (items) this.settleOutcomes(items);
  }

  private settleOutcomes(items: OutcomeItems): void {
    for (const [runId, slot, reply] of items) {
      const state = this.runs.get(slot);
      if (!state || state.runId !== runId) continue;
      const timedOut = reply.kind === 'timeout' || state.fate?.kind === 'timeout';
      this.finish(state, timedOut ? { kind: 'timeout', timeoutMs: state.timeoutMs } : reply);
    }
  }

  /** The batch's thread died before every job in it had reported: by our hand, or by a crash. */
  private batchDied(batch: RunTask[], err: unknown): void {
    for (const job of batch) {
      const state = this.runs.get(job.slot);
      if (!state || state.runId !== job.runId) continue;
      this.finish(state, state.fate ?? this.judgeThreadDeath(state, err));
    }
  }

  private finish(state: RunState, outcome: PoolOutcome): void {
    const threadId = this.threadOf(state);
    this.runs.delete(state.slot);
    this.freeSlots.push(state.slot);
    this.retireIfSpent(threadId);
    state.settle(outcome);
  }

  /** Terminates every thread at once; the runs on them end as free requeues with this reason. */
  async terminateAll(reason: RequeueReason): Promise<void> {
    for (const state of this.runs.values()) state.fate ??= { kind: 'requeue', reason, counted: false };
    await this.destroy();
  }

  async destroy(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    await this.piscina.destroy();
  }

  /**
   * A thread died that the pool did not end. A run that called process.exit() is to blame, and
   * so is a run that was alone on the thread (out of memory, say). Runs merely sharing the thread
   * with a culprit go back free; with no culprit, each goes back counted against maxStalls.
   */
  private judgeThreadDeath(dead: RunState, err: unknown): Fate {
    const threadId = this.threadOf(dead);
    if (threadId === 0) return { kind: 'requeue', reason: 'thread-replaced', counted: false };
    this.forgetThread(threadId);
    const onThread = [...this.runs.values()].filter((s) => s.fate === null && this.threadOf(s) === threadId);
    const culprits = onThread.filter((s) => Atomics.load(this.exitedBy, s.slot) !== 0);
    for (const s of onThread) {
      const exited = Atomics.load(this.exitedBy, s.slot);
      if (exited !== 0) {
        s.fate = {
          kind: 'failed',
          error: {
            name: 'ThreadCrashedError',
            message: `the handler called process.exit(${exited - 1}), which ended its thread`,
            code: ErrorCodes.THREAD_CRASHED,
          },
        };
      } else if (culprits.length > 0) {
        s.fate = { kind: 'requeue', reason: 'thread-crashed', counted: false };
      } else if (onThread.length === 1) {
        s.fate = { kind: 'failed', error: crashError(err) };
      } else {
        s.fate = { kind: 'requeue', reason: 'thread-crashed', counted: true };
      }
    }
    return dead.fate ?? { kind: 'failed', error: crashError(err) };
  }

  private threadOf(state: RunState): number {
    if (state.threadId === 0) {
      const id = Atomics.load(this.startedOn, state.slot);
      if (id !== 0) {
        state.threadId = id;
        if (state.timeoutMs > 0) state.hardDeadline = (this.startedAt[state.slot] ?? 0) + state.timeoutMs + this.options.timeoutGraceMs;
      }
    }
    return state.threadId;
  }

  /**
   * Where piscina puts a batch: the least busy thread, skipping threads that have been given
   * their recycleAfterJobs share (a batch may take a thread a little past it).
   */
  private pickThread(taskName: string, workers: PiscinaWorker[]): PiscinaWorker | null {
    const limit = this.options.recycleAfterJobs;
    let best: PiscinaWorker | null = null;
    for (const w of workers) {
      if (limit > 0 && taskName !== 'probe' && (this.assigned.get(w.id) ?? 0) >= limit) continue;
      if (!best || w.currentUsage < best.currentUsage) best = w;
    }
    const room = workers.length < this.options.threads;
    // piscina starts a thread when the balancer answers null: probes do that, so jobs never wait for a thread to boot
    if (taskName === 'probe') return best && best.currentUsage === 0 ? best : room ? null : best;
    if (best && best.currentUsage > 0 && room && !this.growing) {
      this.growing = true;
      queueMicrotask(
        () =>
          void this.probe()
            .catch(() => undefined)
            .finally(() => (this.growing = false)),
      );
    }
    if (best && limit > 0 && taskName !== 'probe') this.assigned.set(best.id, (this.assigned.get(best.id) ?? 0) + this.placing);
    return best;
  }

  /** Ends a thread once it has finished all the jobs it was given under recycleAfterJobs. */
  private retireIfSpent(threadId: number): void {
    const limit = this.options.recycleAfterJobs;
    if (limit === 0 || threadId === 0) return;
    const done = (this.finished.get(threadId) ?? 0) + 1;
    this.finished.set(threadId, done);
    if (done < limit) return;
    this.forgetThread(threadId);
    void this.piscina.threads.find((w) => w.threadId === threadId)?.terminate();
  }

  private forgetThread(threadId: number): void {
    this.assigned.delete(threadId);
    this.finished.delete(threadId);
  }

  private ensureTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.enforceDeadlines(), TICK_MS);
    this.ticker.unref();
  }

  private enforceDeadlines(): void {
    const now = Date.now();
    let timed = 0;
    for (const state of this.runs.values()) {
      if (state.timeoutMs === 0 || state.fate) continue;
      timed++;
      if (this.threadOf(state) !== 0 && now >= state.hardDeadline) this.terminateFor(state);
    }
    if (timed === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** Ends the thread of a run past its deadline; other runs on that thread are put back free. */
  private terminateFor(late: RunState): void {
    late.fate = { kind: 'timeout', timeoutMs: late.timeoutMs };
    this.forgetThread(late.threadId);
    for (const other of this.runs.values()) {
      if (other !== late && other.fate === null && this.threadOf(other) === late.threadId) {
        other.fate = { kind: 'requeue', reason: 'thread-replaced', counted: false };
      }
    }
    void this.piscina.threads.find((w) => w.threadId === late.threadId)?.terminate();
  }
}

function crashError(err: unknown): SerializedError {
  const e = err as { message?: string; code?: string } | null;
  const outOfMemory = e?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  return {
    name: 'ThreadCrashedError',
    message: outOfMemory
      ? `the thread running this job ran out of memory (maxMemoryMb): ${e?.message ?? ''}`.trim()
      : `the thread running this job died: ${e?.message ?? String(err)}`,
    code: outOfMemory ? 'ERR_WORKER_OUT_OF_MEMORY' : ErrorCodes.THREAD_CRASHED,
  };
}

/**
 * From the build, threads run the compiled thread.js. From source (brokkr's own tests), they run
 * thread.ts through tsx, which must be registered inside each thread.
 */
function threadEntry(): { filename: string; execArgv?: string[] } {
  const compiled = join(__dirname, 'thread.js');
  if (existsSync(compiled)) return { filename: compiled }; // threads inherit the process's execArgv
  return { filename: join(__dirname, 'thread.ts'), execArgv: ['--import', join(__dirname, 'dev-loader.mjs')] };
}
