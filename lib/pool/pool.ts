import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ErrorCodes, HandlerLoadError, type SerializedError } from '../errors';
import type { RequeueReason } from '../events';
import type { ProbeReply, RunReply, RunTask, ThreadData } from './protocol';

export interface PoolOptions {
  threads: number;
  /** jobs in flight at once; above `threads`, async jobs share threads */
  concurrency: number;
  handlers: ThreadData['handlers'];
  timeoutGraceMs: number;
  maxMemoryMb?: number;
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

/** What became of a run; the pool never rejects. */
export type PoolOutcome =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'requeue'; reason: RequeueReason };

interface RunState {
  slot: number;
  timeoutMs: number;
  /** 0 until the handler has started */
  threadId: number;
  /** when the thread is terminated if the run has not ended; Infinity while unknown or unlimited */
  hardDeadline: number;
  /** set when the pool itself ends the run's thread, to say why it ended */
  fate: 'timeout' | RequeueReason | null;
}

/** How often in-flight runs are checked against their deadlines: one timer for all runs. */
const TICK_MS = 20;

/**
 * The only user of piscina. Runs one job per task on a thread, enforces each job's timeout by
 * terminating the thread that runs it (piscina replaces it), and turns every ending into a plain
 * outcome. Knows nothing about Redis.
 */
export class JobPool {
  private readonly piscina: Piscina;
  private readonly startedOn: Int32Array;
  private readonly startedAt: Float64Array;
  private readonly freeSlots: number[] = [];
  private readonly runs = new Map<number, RunState>();
  private ticker: NodeJS.Timeout | null = null;

  constructor(private readonly options: PoolOptions) {
    const startedOn = new SharedArrayBuffer(4 * options.concurrency);
    const startedAt = new SharedArrayBuffer(8 * options.concurrency);
    this.startedOn = new Int32Array(startedOn);
    this.startedAt = new Float64Array(startedAt);
    for (let slot = options.concurrency - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    const workerData: ThreadData = { handlers: options.handlers, startedOn, startedAt };
    const entry = threadEntry();
    this.piscina = new Piscina({
      ...entry,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: Math.ceil(options.concurrency / options.threads),
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData,
      ...(options.maxMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb } } : {}),
    });
    // a thread that dies with no task on it is replaced; the event must have a listener
    this.piscina.on('error', () => undefined);
  }

  get free(): number {
    return this.freeSlots.length;
  }

  get inFlight(): number {
    return this.runs.size;
  }

  /** Loads every handler module in a thread; resolves with the job names they provide. */
  async start(): Promise<string[]> {
    const reply = (await this.piscina.run({ kind: 'probe' })) as ProbeReply;
    if (!reply.ok) throw new HandlerLoadError(reply.error.message);
    return reply.names;
  }

  /** Runs a job; the caller keeps within `free` slots. */
  async run(job: PoolJob): Promise<PoolOutcome> {
    const slot = this.freeSlots.pop();
    if (slot === undefined) throw new Error('JobPool.run called with no free slot');
    Atomics.store(this.startedOn, slot, 0);
    const state: RunState = { slot, timeoutMs: job.timeoutMs, threadId: 0, hardDeadline: Infinity, fate: null };
    this.runs.set(slot, state);
    if (job.timeoutMs > 0) this.ensureTicker();
    const task: RunTask = { kind: 'run', slot, ...job };
    try {
      const reply = (await this.piscina.run(task)) as RunReply;
      if (reply.kind === 'timeout' || state.fate === 'timeout') return { kind: 'timeout', timeoutMs: job.timeoutMs };
      return reply;
    } catch (err) {
      return this.endedWithThread(state, err);
    } finally {
      this.runs.delete(slot);
      this.freeSlots.push(slot);
    }
  }

  /** Terminates every thread at once; the runs on them end as `requeue` with this reason. */
  async terminateAll(reason: RequeueReason): Promise<void> {
    for (const state of this.runs.values()) state.fate ??= reason;
    await this.destroy();
  }

  async destroy(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    await this.piscina.destroy();
  }

  /** The run's thread exited before the run ended: by our hand, or by a crash. */
  private endedWithThread(state: RunState, err: unknown): PoolOutcome {
    if (state.fate === 'timeout') return { kind: 'timeout', timeoutMs: state.timeoutMs };
    if (state.fate) return { kind: 'requeue', reason: state.fate };
    if (this.threadOf(state) === 0) return { kind: 'requeue', reason: 'thread-replaced' }; // never started
    const e = err as { message?: string; code?: string };
    return {
      kind: 'failed',
      error: {
        name: 'ThreadCrashedError',
        message: `the thread running this job died: ${e?.message ?? String(err)}`,
        code: e?.code === 'ERR_WORKER_OUT_OF_MEMORY' ? e.code : ErrorCodes.THREAD_CRASHED,
      },
    };
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

  /** Ends the thread of a run past its deadline; other runs on that thread are put back. */
  private terminateFor(late: RunState): void {
    late.fate = 'timeout';
    for (const other of this.runs.values()) {
      if (other !== late && other.fate === null && this.threadOf(other) === late.threadId) other.fate = 'thread-replaced';
    }
    const worker = this.piscina.threads.find((w) => w.threadId === late.threadId);
    void worker?.terminate();
  }
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
