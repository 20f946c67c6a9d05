import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { HandlerLoadError } from '../errors';
import type { RequeueReason } from '../events';
import { type Fate, judgeThreadDeath, type PoolOutcome } from './blame';
import {
  decodeReport,
  encodeBatch,
  type FromThread,
  type Hello,
  type Poke,
  type RunTask,
  STARTED,
  type SessionTask,
  type ThreadData,
} from './protocol';

export type { PoolOutcome };

export interface PoolOptions {
  threads: number;
  /** jobs running at once; above `threads`, async jobs share threads */
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

/** Where the pool pulls its jobs from, and whom it tells what became of them. */
export interface PoolSource<J extends PoolJob> {
  /** how many jobs are ready to start */
  waiting(): number;
  /** up to `max` jobs, in the order they should start */
  take(max: number): J[];
  /** jobs taken that never started (their thread ended): they go first next time */
  giveBack(jobs: J[]): void;
  /** whether threads may queue jobs beyond their cap (short jobs); long ones are not held back there */
  queueAhead(): boolean;
  /** a job was handed to a thread for the first time */
  dispatched(job: J): void;
  settled(job: J, outcome: PoolOutcome): void;
  /** trouble with a thread that is about no job (a replacement that cannot load the handlers) */
  error(err: Error): void;
}

interface Session {
  readonly port: MessagePort;
  /** index in the shared caps and depths */
  readonly seat: number;
  threadId: number;
  ready: boolean;
  /** how many jobs the thread asked for in its last report; 0 once answered */
  asked: number;
  /** sequence number of the last batch sent */
  lastSent: number;
  lastReportAt: number;
  readonly runs: Set<RunState>;
  /** jobs sent over its life (for recycleAfterJobs) */
  given: number;
  idleSince: number;
  /** being ended on purpose: replaced (timeout, recycling) or released (idle) */
  ending: 'replace' | 'release' | null;
  readonly hello: { resolve: (names: string[]) => void; reject: (err: Error) => void; promise: Promise<string[]> };
}

interface RunState {
  runId: number;
  slot: number;
  job: PoolJob;
  session: Session;
  timeoutMs: number;
  /** when the thread is terminated if the run has not ended; Infinity while not started or unlimited */
  hardDeadline: number;
  fate: Fate | null;
}

/** How often in-flight runs are checked against their deadlines: one timer for all runs. */
const TICK_MS = 20;
/** Queued jobs a thread may hold beyond its cap, for short jobs: at least this many. */
const MIN_DEPTH = 16;
/** A thread that has not reported for this long while holding unstarted jobs gives them all up. */
const STALLED_MS = 20;

/**
 * The only user of piscina, which starts threads, applies resourceLimits, and terminates and
 * replaces them. Each thread runs one long session (protocol.ts) and pulls jobs: it asks for as
 * many as it can take, and the pool answers from its source. A thread whose event loop is
 * blocked asks for nothing; the jobs it holds but has not started are taken back for a thread
 * that asks, so no job waits behind it while another thread has room. A job's timeout is
 * enforced by terminating the thread that runs it; the pool decides who is to blame when a
 * thread dies, and turns every ending into a plain outcome. Knows nothing about Redis.
 */
export class JobPool<J extends PoolJob> {
  private readonly piscina: Piscina;
  private readonly startedOn: Int32Array;
  private readonly startedAt: Float64Array;
  private readonly exitedBy: Int32Array;
  private readonly claim: Int32Array;
  private readonly caps: Int32Array;
  private readonly depths: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly freeSeats: number[] = [];
  private readonly runs = new Map<number, RunState>();
  private readonly sessions = new Set<Session>();
  private readonly dispatchedOnce = new WeakSet<PoolJob>();
  private readonly depth: number;
  private ticker: NodeJS.Timeout | null = null;
  private idleCheck: NodeJS.Timeout | null = null;
  private nextRunId = 1;
  private nextSeq = 1;
  private started = false;
  private closing = false;
  /** no new thread before this time: one failed to load the handlers */
  private growNotBefore = 0;

  constructor(
    private readonly options: PoolOptions,
    private readonly source: PoolSource<J>,
  ) {
    this.depth = threadQueueDepth(options.concurrency, options.threads);
    const slots = options.concurrency + options.threads * this.depth;
    const workerData: ThreadData = {
      handlers: options.handlers,
      startedOn: new SharedArrayBuffer(4 * slots),
      startedAt: new SharedArrayBuffer(8 * slots),
      exitedBy: new SharedArrayBuffer(4 * slots),
      claim: new SharedArrayBuffer(4 * slots),
      caps: new SharedArrayBuffer(4 * options.threads),
      depths: new SharedArrayBuffer(4 * options.threads),
      maxResultBytes: options.maxResultBytes,
    };
    this.startedOn = new Int32Array(workerData.startedOn);
    this.startedAt = new Float64Array(workerData.startedAt);
    this.exitedBy = new Int32Array(workerData.exitedBy);
    this.claim = new Int32Array(workerData.claim);
    this.caps = new Int32Array(workerData.caps);
    this.depths = new Int32Array(workerData.depths);
    for (let slot = slots - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    for (let seat = options.threads - 1; seat >= 0; seat--) this.freeSeats.push(seat);
    this.piscina = new Piscina({
      ...threadEntry(),
      minThreads: 0,
      maxThreads: options.threads,
      // one session per thread; sessions end by termination, so idle piscina threads are leftovers
      concurrentTasksPerWorker: 1,
      idleTimeout: 1_000,
      // piscina's Atomics wait between tasks would block a thread's event loop; sessions never end between jobs
      atomics: 'disabled',
      workerData,
      ...(options.maxMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb } } : {}),
    });
    // a thread that dies with no task on it is replaced by piscina; the event must have a listener
    this.piscina.on('error', () => undefined);
  }

  /** Jobs threads hold: running, queued to start next, or finished and not yet reported. */
  get holding(): number {
    return this.runs.size;
  }

  /** Live threads (more start on demand up to `threads`; idle ones are released). */
  get threadCount(): number {
    return this.sessions.size;
  }

  /** Starts every thread and loads the handler modules; resolves with the job names they provide. */
  async start(): Promise<string[]> {
    const sessions = Array.from({ length: this.options.threads }, () => this.openSession());
    const names = await Promise.all(sessions.map((s) => s.hello.promise));
    this.started = true;
    this.idleCheck = setInterval(() => this.releaseIdle(), Math.max(50, Math.min(1_000, this.options.threadIdleMs / 4)));
    this.idleCheck.unref();
    return names[0]!;
  }

  /** New jobs are ready: threads that asked get them now. */
  offer(): void {
    this.serve();
  }

  /** Takes back every job threads hold but have not started (close(): they go back to Redis at once). */
  takeBackUnstarted(): J[] {
    const back: J[] = [];
    for (const session of this.sessions) {
      for (const run of [...session.runs]) {
        if (run.fate !== null || Atomics.compareExchange(this.claim, run.slot, session.threadId, 0) !== session.threadId) continue;
        this.release(run);
        back.push(run.job as J);
      }
    }
    return back;
  }

  /** Terminates every thread at once; the runs on them end as free requeues with this reason. */
  async terminateAll(reason: RequeueReason): Promise<void> {
    for (const run of this.runs.values()) run.fate ??= { kind: 'requeue', reason, counted: false };
    await this.destroy();
  }

  async destroy(): Promise<void> {
    this.closing = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.idleCheck) clearInterval(this.idleCheck);
    this.ticker = null;
    this.idleCheck = null;
    await this.piscina.destroy();
    // the sessions' tasks reject on destroy; let their settlement (after a setImmediate) run
    await new Promise((resolve) => setImmediate(resolve));
  }

  private openSession(): Session {
    const { port1, port2 } = new MessageChannel();
    let hello!: Session['hello'];
    const promise = new Promise<string[]>((resolve, reject) => {
      hello = { resolve, reject, promise: undefined as unknown as Promise<string[]> };
    });
    hello.promise = promise;
    promise.catch(() => undefined);
    const seat = this.freeSeats.pop()!;
    const session: Session = {
      port: port1,
      seat,
      threadId: 0,
      ready: false,
      asked: 0,
      lastSent: 0,
      lastReportAt: 0,
      runs: new Set(),
      given: 0,
      idleSince: Date.now(),
      ending: null,
      hello,
    };
    this.sessions.add(session);
    port1.on('message', (message: FromThread) => this.onMessage(session, message));
    const task: SessionTask = { port: port2, seat };
    this.piscina.run(task, { transferList: [port2] }).then(
      () => this.sessionEnded(session, null),
      // reports travel on the session's port, not on piscina's channel: let those already sent arrive first
      (err: unknown) => setImmediate(() => this.sessionEnded(session, err)),
    );
    return session;
  }

  private onMessage(session: Session, raw: FromThread): void {
    if (typeof raw !== 'string') {
      this.onHello(session, raw);
      return;
    }
    const report = decodeReport(raw);
    session.lastReportAt = performance.now();
    for (const [runId, slot, reply] of report.outcomes) {
      const run = this.runs.get(slot);
      if (!run || run.runId !== runId) continue;
      const timedOut = reply.kind === 'timeout' || run.fate?.kind === 'timeout';
      this.finish(run, timedOut ? { kind: 'timeout', timeoutMs: run.timeoutMs } : reply);
    }
    // a report written before the thread saw our last batch does not know what it holds
    if (report.seen === session.lastSent) session.asked = report.want;
    this.serve();
  }

  private onHello(session: Session, hello: Hello): void {
    session.threadId = hello.threadId;
    if ('error' in hello) {
      session.hello.reject(new HandlerLoadError(hello.error.message));
      this.endThread(session, 'release');
      return;
    }
    session.ready = true;
    this.shareCapacity();
    session.hello.resolve(hello.names);
  }

  /** The caps of the live threads add up to `concurrency`; how far they may queue ahead depends on the jobs. */
  private shareCapacity(): void {
    const live = [...this.sessions].filter((s) => s.ready && s.ending === null);
    const depth = this.source.queueAhead() ? this.depth : 0;
    live.forEach((s, i) => {
      const cap = Math.floor(this.options.concurrency / live.length) + (i < this.options.concurrency % live.length ? 1 : 0);
      this.setSeat(s, cap, depth);
    });
  }

  /** Writes a thread's cap and depth; when either changed, the thread is asked to report again. */
  private setSeat(session: Session, cap: number, depth: number): void {
    const oldCap = Atomics.exchange(this.caps, session.seat, cap);
    const oldDepth = Atomics.exchange(this.depths, session.seat, depth);
    if (oldCap !== cap || oldDepth !== depth) session.port.postMessage({ poke: true } satisfies Poke);
  }

  /** Answers the threads that asked, least loaded first, sharing the ready jobs out among them. */
  private serve(): void {
    if (!this.started || this.closing) return;
    const asking = [...this.sessions].filter((s) => s.asked > 0 && s.ready && s.ending === null && this.roomToRecycle(s) > 0);
    if (asking.length === 0) return;
    this.refreshDepths();
    asking.sort((a, b) => a.runs.size - b.runs.size);
    let waiting = this.source.waiting();
    for (let i = 0; i < asking.length && waiting > 0 && this.freeSlots.length > 0; i++) {
      const s = asking[i]!;
      const share = Math.min(s.asked, this.freeSlots.length, Math.ceil(waiting / (asking.length - i)), this.roomToRecycle(s));
      const jobs = this.source.take(share);
      if (jobs.length === 0) break;
      this.send(
        s,
        jobs.map((job) => this.newRun(job, s)),
      );
      waiting -= jobs.length;
    }
    if (waiting > 0 && this.freeSlots.length > 0) this.grow();
    if (waiting === 0) for (const thief of asking) if (thief.asked > 0) this.steal(thief);
  }

  /** Takes unstarted jobs from other threads for one that asks: all of a stalled thread's, half of a busy one's. */
  private steal(thief: Session): void {
    const now = performance.now();
    const loot: RunState[] = [];
    for (const victim of this.sessions) {
      if (victim === thief || loot.length >= thief.asked) continue;
      const unstarted = [...victim.runs].filter((r) => r.fate === null && Atomics.load(this.claim, r.slot) === victim.threadId);
      if (unstarted.length === 0) continue;
      const stalled = now - victim.lastReportAt > STALLED_MS;
      const take = Math.min(thief.asked - loot.length, stalled ? unstarted.length : Math.floor(unstarted.length / 2));
      for (const run of unstarted.reverse().slice(0, take)) {
        if (Atomics.compareExchange(this.claim, run.slot, victim.threadId, thief.threadId) !== victim.threadId) continue;
        victim.runs.delete(run);
        run.session = thief;
        loot.push(run);
      }
    }
    if (loot.length > 0) this.send(thief, loot);
  }

  private newRun(job: J, session: Session): RunState {
    const slot = this.freeSlots.pop()!;
    Atomics.store(this.startedOn, slot, 0);
    Atomics.store(this.exitedBy, slot, 0);
    const run: RunState = { runId: this.nextRunId++, slot, job, session, timeoutMs: job.timeoutMs, hardDeadline: Infinity, fate: null };
    this.runs.set(slot, run);
    if (job.timeoutMs > 0) this.ensureTicker();
    if (!this.dispatchedOnce.has(job)) {
      this.dispatchedOnce.add(job);
      this.source.dispatched(job);
    }
    return run;
  }

  private send(session: Session, runs: RunState[]): void {
    const tasks: RunTask[] = [];
    for (const run of runs) {
      const { job, slot } = run;
      Atomics.store(this.claim, slot, session.threadId);
      session.runs.add(run);
      tasks.push({
        runId: run.runId,
        slot,
        id: job.id,
        queue: job.queue,
        name: job.name,
        data: job.data,
        attempt: job.attempt,
        timeoutMs: job.timeoutMs,
      });
    }
    session.asked = 0;
    session.given += runs.length;
    session.lastSent = this.nextSeq++;
    session.port.postMessage(encodeBatch({ seq: session.lastSent, jobs: tasks }));
  }

  private finish(run: RunState, outcome: PoolOutcome): void {
    this.release(run);
    this.source.settled(run.job as J, outcome);
  }

  private release(run: RunState): void {
    this.runs.delete(run.slot);
    this.freeSlots.push(run.slot);
    const session = run.session;
    session.runs.delete(run);
    if (session.runs.size === 0) {
      session.idleSince = Date.now();
      if (session.ending === null && this.roomToRecycle(session) === 0) this.endThread(session, 'replace');
    }
  }

  private sessionEnded(session: Session, err: unknown): void {
    this.sessions.delete(session);
    this.freeSeats.push(session.seat);
    Atomics.store(this.caps, session.seat, 0);
    session.port.close();
    session.hello.reject(
      new HandlerLoadError(`a worker thread ended before it loaded the handlers: ${(err as Error)?.message ?? 'no error'}`),
    );
    const runs = [...session.runs];
    const unstarted = runs.filter((r) => r.fate === null && Atomics.load(this.startedOn, r.slot) === 0);
    const rest = runs.filter((r) => !unstarted.includes(r));
    const fates = judgeThreadDeath(
      rest.map((r) => ({ started: true, exitedWith: Atomics.load(this.exitedBy, r.slot), fate: r.fate })),
      err,
    );
    rest.forEach((r, i) => {
      this.finish(r, fates[i]!);
    });
    // jobs it never started go to the front of the line, as if never sent
    for (const r of unstarted) this.release(r);
    if (unstarted.length > 0) this.source.giveBack(unstarted.map((r) => r.job as J));
    if (this.closing || !this.started) return;
    if (!session.ready) {
      this.growNotBefore = Date.now() + 5_000;
      this.source.error(
        new HandlerLoadError(`a worker thread could not start: ${(err as Error)?.message ?? 'it ended before loading the handlers'}`),
      );
    } else if (session.ending !== 'release') {
      this.openSession();
    }
    this.shareCapacity();
    this.serve();
  }

  /** Starts one more thread when jobs wait and every thread is full, up to `threads`. */
  private grow(): void {
    const starting = [...this.sessions].some((s) => !s.ready);
    if (starting || this.sessions.size >= this.options.threads || Date.now() < this.growNotBefore) return;
    this.openSession();
  }

  /** Threads beyond the first that had no job for threadIdleMs are released. */
  private releaseIdle(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      const live = [...this.sessions].filter((x) => x.ending === null).length;
      if (live <= 1) return;
      if (s.ending === null && s.ready && s.runs.size === 0 && now - s.idleSince >= this.options.threadIdleMs) this.endThread(s, 'release');
    }
  }

  /** Short jobs may queue ahead in threads; the setting follows the source's view of the jobs. */
  private refreshDepths(): void {
    const depth = this.source.queueAhead() ? this.depth : 0;
    for (const s of this.sessions) if (s.ready && s.ending === null) this.setSeat(s, Atomics.load(this.caps, s.seat), depth);
  }

  private roomToRecycle(session: Session): number {
    const limit = this.options.recycleAfterJobs;
    return limit === 0 ? Number.POSITIVE_INFINITY : limit - session.given;
  }

  private endThread(session: Session, why: 'replace' | 'release'): void {
    if (session.ending !== null) return;
    session.ending = why;
    this.shareCapacity();
    const worker = this.piscina.threads.find((w) => w.threadId === session.threadId);
    if (worker) void worker.terminate();
  }

  private ensureTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.enforceDeadlines(), TICK_MS);
    this.ticker.unref();
  }

  private enforceDeadlines(): void {
    const now = Date.now();
    let timed = 0;
    for (const run of this.runs.values()) {
      if (run.timeoutMs === 0 || run.fate) continue;
      timed++;
      if (run.hardDeadline === Infinity && Atomics.load(this.startedOn, run.slot) !== 0) {
        run.hardDeadline = (this.startedAt[run.slot] ?? 0) + run.timeoutMs + this.options.timeoutGraceMs;
      }
      if (now >= run.hardDeadline) this.terminateFor(run);
    }
    if (timed === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** Ends the thread of a run past its deadline; the other started runs on that thread go back free. */
  private terminateFor(late: RunState): void {
    late.fate = { kind: 'timeout', timeoutMs: late.timeoutMs };
    for (const other of late.session.runs) {
      if (Atomics.load(this.claim, other.slot) === STARTED) other.fate ??= { kind: 'requeue', reason: 'thread-replaced', counted: false };
    }
    this.endThread(late.session, 'replace');
  }
}

/** How many jobs a thread may queue beyond its cap when jobs are short. */
export function threadQueueDepth(concurrency: number, threads: number): number {
  return Math.max(MIN_DEPTH, Math.ceil(concurrency / threads));
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
