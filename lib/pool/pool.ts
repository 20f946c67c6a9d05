import type { RequeueReason } from '../events';
import { type Fate, judgeThreadDeath, type PoolOutcome } from './blame';
import { type CancelRun, encodeBatch, type Report, type RunTask, type ThreadData } from './protocol';
import { SharedSlots } from './slots';
import { type Session, ThreadSessions } from './threads';

export type { PoolOutcome };

export interface PoolOptions {
  threads: number;
  /** jobs running at once; above `threads`, async jobs share threads */
  concurrency: number;
  handlers: ThreadData['handlers'];
  timeoutGraceMs: number;
  maxMemoryMb?: number;
  maxResultBytes: number;
  /** a thread is replaced after being given this many jobs; 0: never */
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
  /** JSON array of the outcomes of the jobs it depended on */
  dependencies?: string;
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
  /** a running job reported progress (JSON) or log lines */
  noted(job: J, progress: string | undefined, logs: string[]): void;
  /** trouble with a thread that is about no job (a replacement that cannot load the handlers) */
  error(err: Error): void;
}

interface RunState {
  runId: number;
  slot: number;
  job: PoolJob;
  session: Session<RunState>;
  timeoutMs: number;
  /** when the thread is terminated if the run has not ended; Infinity while not started or unlimited */
  hardDeadline: number;
  fate: Fate | null;
  /** its job was canceled: the signal is aborted, and the thread ends at hardDeadline */
  canceling: boolean;
}

/** How often in-flight runs are checked against their deadlines: one timer for all runs. */
const TICK_MS = 20;
/** Queued jobs a thread may hold beyond its cap, for short jobs: at least this many. */
const MIN_DEPTH = 16;
/** A thread that has not reported for this long while holding unstarted jobs gives them all up. */
const STALLED_MS = 20;

/** How many jobs a thread may queue beyond its cap when jobs are short. */
export function threadQueueDepth(concurrency: number, threads: number): number {
  return Math.max(MIN_DEPTH, Math.ceil(concurrency / threads));
}

/**
 * Runs jobs on worker threads (threads.ts keeps the threads). Threads pull: each asks for as
 * many jobs as it can take, and the pool answers from its source. A thread whose event loop is
 * blocked asks for nothing; the jobs it holds but has not started are taken back for a thread
 * that asks, so no job waits behind it while another thread has room. A job's timeout is
 * enforced by terminating the thread that runs it; the pool decides who is to blame when a
 * thread dies, and turns every ending into a plain outcome. Knows nothing about Redis.
 */
export class JobPool<J extends PoolJob> {
  private readonly slots: SharedSlots;
  private readonly threads: ThreadSessions<RunState>;
  private readonly runs = new Map<number, RunState>();
  private readonly dispatchedOnce = new WeakSet<PoolJob>();
  private readonly depth: number;
  private ticker: NodeJS.Timeout | null = null;
  private nextRunId = 1;
  private nextSeq = 1;
  private started = false;
  private closing = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly source: PoolSource<J>,
  ) {
    this.depth = threadQueueDepth(options.concurrency, options.threads);
    this.slots = new SharedSlots(options.concurrency + options.threads * this.depth, options.threads);
    this.threads = new ThreadSessions<RunState>(options, this.slots, {
      report: (session, report) => this.onReport(session, report),
      notes: (notes) => {
        const run = this.runs.get(notes.slot);
        if (run?.runId === notes.runId) this.source.noted(run.job as J, notes.progress, notes.logs);
      },
      ended: (session, err) => this.onThreadEnded(session, err),
      changed: () => this.serve(),
      queueDepth: () => (this.source.queueAhead() ? this.depth : 0),
      error: (err) => this.source.error(err),
    });
  }

  /** Jobs threads hold: running, queued to start next, or finished and not yet reported. */
  get holding(): number {
    return this.runs.size;
  }

  /** Live threads (more start on demand up to `threads`; idle ones are released). */
  get threadCount(): number {
    return this.threads.count;
  }

  get threadRestarts(): number {
    return this.threads.restarts;
  }

  /** Starts every thread and loads the handler modules; resolves with the job names they provide. */
  async start(): Promise<string[]> {
    const names = await this.threads.start();
    this.started = true;
    return names;
  }

  /** New jobs are ready: threads that asked get them now. */
  offer(): void {
    this.serve();
  }

  /** Takes a job back if a thread holds it unstarted (its lease was lost); false once it has started. */
  takeBack(job: J): boolean {
    for (const run of this.runs.values()) {
      if (run.job !== job) continue;
      if (run.fate !== null || !this.slots.takeBack(run.slot, run.runId, 0)) return false;
      this.release(run);
      return true;
    }
    return false;
  }

  /**
   * The job was canceled. Held unstarted: taken back ('taken-back'). Running: its signal is
   * aborted, and its thread ended if it has not stopped after timeoutGraceMs ('signaled'; its
   * outcome comes as usual, `canceled` when the thread had to end). Else 'not-held'.
   */
  cancel(job: J, reason: string): 'taken-back' | 'signaled' | 'not-held' {
    for (const run of this.runs.values()) {
      if (run.job !== job) continue;
      if (run.fate !== null) return 'signaled';
      if (this.slots.takeBack(run.slot, run.runId, 0)) {
        this.release(run);
        return 'taken-back';
      }
      if (!run.canceling) {
        run.canceling = true;
        run.hardDeadline = Math.min(run.hardDeadline, Date.now() + this.options.timeoutGraceMs);
        run.session.port.postMessage({ cancel: true, slot: run.slot, runId: run.runId, reason } satisfies CancelRun);
        this.ensureTicker();
      }
      return 'signaled';
    }
    return 'not-held';
  }

  /** Takes back the jobs threads hold but have not started (close(), a pause: they go back to Redis at once). */
  takeBackUnstarted(which: (job: J) => boolean = () => true): J[] {
    const back: J[] = [];
    for (const session of this.threads.all()) {
      for (const run of [...session.runs]) {
        if (run.fate !== null || !which(run.job as J) || !this.slots.takeBack(run.slot, run.runId, 0)) continue;
        this.release(run);
        back.push(run.job as J);
      }
    }
    return back;
  }

  /** Whether a thread holds a job of this kind that has not started. */
  holdsUnstarted(which: (job: J) => boolean): boolean {
    for (const run of this.runs.values()) {
      if (run.fate === null && which(run.job as J) && this.slots.isWaiting(run.slot, run.runId)) return true;
    }
    return false;
  }

  /** Terminates every thread at once; the runs on them end as free requeues with this reason. */
  async terminateAll(reason: RequeueReason): Promise<void> {
    for (const run of this.runs.values()) run.fate ??= { kind: 'requeue', reason, counted: false };
    await this.destroy();
  }

  async destroy(): Promise<void> {
    this.closing = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    await this.threads.destroy();
  }

  private onReport(session: Session<RunState>, report: Report): void {
    for (const [runId, slot, reply] of report.outcomes) {
      const run = this.runs.get(slot);
      if (!run || run.runId !== runId) continue;
      const timedOut = reply.kind === 'timeout' || run.fate?.kind === 'timeout';
      this.finish(run, timedOut ? { kind: 'timeout', timeoutMs: run.timeoutMs } : reply);
    }
    session.idle = report.idle;
    // a report written before the thread saw our last batch does not know what it holds
    if (report.seen === session.lastSent) session.asked = report.want;
    this.serve();
  }

  /** Answers the threads that asked, least loaded first, sharing the ready jobs out among them. */
  private serve(): void {
    if (!this.started || this.closing) return;
    const asking = [...this.threads.all()].filter((s) => s.asked > 0 && s.ready && s.ending === null && this.roomToRecycle(s) > 0);
    if (asking.length === 0) return;
    this.threads.refreshDepths();
    asking.sort((a, b) => a.runs.size - b.runs.size);
    let waiting = this.source.waiting();
    for (let i = 0; i < asking.length && waiting > 0 && this.slots.freeSlotCount > 0; i++) {
      const s = asking[i]!;
      const share = Math.min(s.asked, this.slots.freeSlotCount, Math.ceil(waiting / (asking.length - i)), this.roomToRecycle(s));
      const jobs = this.source.take(share);
      if (jobs.length === 0) break;
      this.send(
        s,
        jobs.map((job) => this.newRun(job, s)),
      );
      waiting -= jobs.length;
    }
    if (waiting > 0 && this.slots.freeSlotCount > 0) this.threads.grow();
    if (waiting === 0) for (const thief of asking) if (thief.asked > 0) this.steal(thief);
  }

  /**
   * Takes unstarted jobs from other threads for one that asks and could start them now (up to its
   * idle room): all of a stalled thread's, half of a busy one's.
   */
  private steal(thief: Session<RunState>): void {
    const room = Math.min(thief.asked, thief.idle, this.roomToRecycle(thief));
    if (room <= 0) return;
    const now = performance.now();
    const loot: RunState[] = [];
    for (const victim of this.threads.all()) {
      if (victim === thief || loot.length >= room) continue;
      const unstarted = [...victim.runs].filter((r) => r.fate === null && this.slots.isWaiting(r.slot, r.runId));
      if (unstarted.length === 0) continue;
      const stalled = now - victim.lastReportAt > STALLED_MS;
      const take = Math.min(room - loot.length, stalled ? unstarted.length : Math.ceil(unstarted.length / 2));
      for (const run of unstarted.reverse().slice(0, take)) {
        const renamed = this.newRunId();
        if (!this.slots.takeBack(run.slot, run.runId, renamed)) continue;
        run.runId = renamed;
        victim.runs.delete(run);
        run.session = thief;
        loot.push(run);
      }
    }
    if (loot.length > 0) this.send(thief, loot);
  }

  /** Run ids are 31-bit and never 0 (a free claim): a stale copy would need two billion runs to collide. */
  private newRunId(): number {
    const id = this.nextRunId;
    this.nextRunId = id >= 0x7fffffff ? 1 : id + 1;
    return id;
  }

  private newRun(job: J, session: Session<RunState>): RunState {
    const slot = this.slots.takeSlot();
    const run: RunState = {
      runId: this.newRunId(),
      slot,
      job,
      session,
      timeoutMs: job.timeoutMs,
      hardDeadline: Infinity,
      fate: null,
      canceling: false,
    };
    this.runs.set(slot, run);
    if (job.timeoutMs > 0) this.ensureTicker();
    if (!this.dispatchedOnce.has(job)) {
      this.dispatchedOnce.add(job);
      this.source.dispatched(job);
    }
    return run;
  }

  private send(session: Session<RunState>, runs: RunState[]): void {
    const tasks: RunTask[] = [];
    for (const run of runs) {
      const { job, slot, runId } = run;
      this.slots.offer(slot, runId);
      session.runs.add(run);
      tasks.push({
        runId,
        slot,
        id: job.id,
        queue: job.queue,
        name: job.name,
        data: job.data,
        attempt: job.attempt,
        timeoutMs: job.timeoutMs,
        dependencies: job.dependencies ?? '',
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
    this.slots.returnSlot(run.slot);
    const session = run.session;
    session.runs.delete(run);
    if (session.runs.size === 0) {
      session.idleSince = Date.now();
      if (session.ending === null && this.roomToRecycle(session) <= 0) this.threads.end(session, 'replace');
    }
  }

  /** A thread is gone: its started runs get their fate, the ones it never started go first next time. */
  private onThreadEnded(session: Session<RunState>, err: unknown): void {
    const runs = [...session.runs];
    const unstarted = runs.filter((r) => r.fate === null && !this.slots.hasStarted(r.slot));
    const rest = runs.filter((r) => !unstarted.includes(r));
    const fates = judgeThreadDeath(
      rest.map((r) => ({ started: true, exitedWith: this.slots.exitedWith(r.slot), fate: r.fate })),
      err,
    );
    rest.forEach((r, i) => {
      this.finish(r, fates[i]!);
    });
    for (const r of unstarted) this.release(r);
    if (unstarted.length > 0) this.source.giveBack(unstarted.map((r) => r.job as J));
  }

  private roomToRecycle(session: Session<RunState>): number {
    const limit = this.options.recycleAfterJobs;
    return limit === 0 ? Number.POSITIVE_INFINITY : limit - session.given;
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
      if ((run.timeoutMs === 0 && !run.canceling) || run.fate) continue;
      timed++;
      if (run.hardDeadline === Infinity && run.timeoutMs > 0 && this.slots.hasStarted(run.slot)) {
        run.hardDeadline = this.slots.startedAt(run.slot) + run.timeoutMs + this.options.timeoutGraceMs;
      }
      if (now >= run.hardDeadline) this.terminateFor(run);
    }
    if (timed === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** Ends the thread of a run past its deadline (a timeout, or a cancellation's grace); the other started runs on that thread go back free. */
  private terminateFor(late: RunState): void {
    late.fate = late.canceling ? { kind: 'canceled' } : { kind: 'timeout', timeoutMs: late.timeoutMs };
    for (const other of late.session.runs) {
      if (this.slots.isClaimedStarted(other.slot)) other.fate ??= { kind: 'requeue', reason: 'thread-replaced', counted: false };
    }
    this.threads.end(late.session, 'replace');
  }
}
