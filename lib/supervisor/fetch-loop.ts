import type { Broker, DroppedId, LeasedJob, LeaseRequest, TurnResult, Write, WriteResult } from '../broker';
import { isRetryable, withRetry } from '../retry';
import { backoffDelay, Latch, sleep, Wakeup } from './notifier';
import type { HeldRun } from './runs';

/** Passes (a turn per queue) in flight at once. */
const MAX_PASSES = 2;
/** Most outcomes one turn writes, so that a turn stays short even with a large backlog. */
const MAX_WRITES_PER_TURN = 1000;
/**
 * A queue whose jobs this supervisor holds unstarted (prefetched) gets a turn at least this
 * often, so a pause reaches it in time to put them back before they start.
 */
export const FLOW_CHECK_MS = 400;

/** A write waiting for (or riding on) a turn, with the run it is about. */
export interface PendingWrite {
  queue: string;
  write: Write;
  run: HeldRun;
}

export interface FetchLoopOptions {
  queues: string[];
  /** the supervisor's id, stored on leased jobs */
  owner: string;
  /** unique to this supervisor; lease tokens are made from it */
  tokenBase: string;
  leaseMs: number;
  fetchBatchSize: number;
  retryMaxDelayMs: number;
}

export interface FetchLoopHooks {
  /** how many more jobs to lease now: free slots plus the prefetch target, less what is ready */
  want(): number;
  /** free slots only: what a queue with limits leases (a job it counts as started must start) */
  free(): number;
  /** whether jobs of the queue are held here unstarted */
  holdsUnstarted(queueIndex: number): boolean;
  /** the queue is paused: jobs of it held unstarted should go back */
  paused(queueIndex: number, queue: string): void;
  leased(queueIndex: number, queue: string, jobs: LeasedJob[], dropped: DroppedId[]): void;
  written(pending: PendingWrite, result: WriteResult, now: number): void;
  /** a job written has dependents to tell */
  handoff(queue: string): void;
  error(err: unknown): void;
}

/**
 * The supervisor's one conversation with the broker about work. Each pass takes, queue by queue
 * in the order given, the writes that gathered since the last pass and as many jobs as there is
 * room for, in one turn (one round trip) per queue. A queue found empty is waited on: a blocking
 * wait on its wake-up marker that leases in the same round trip as it wakes. Due times the broker
 * reports (delayed jobs) are kept, and the queue is looked at again when one comes.
 */
export class FetchLoop {
  private readonly outbox = new Map<string, PendingWrite[]>();
  private pending = 0;
  private flushWaiters: (() => void)[] = [];
  private leasing = true;
  private stopped = false;
  private readonly wakeup = new Wakeup();
  private readonly stopLatch = new Latch();
  private readonly abort = new AbortController();
  /** blocking waits in flight, per queue, and how many jobs each would lease */
  private readonly waits = new Map<string, Promise<void>>();
  private readonly waitCounts = new Map<string, number>();
  /** queues whose last lease came back short: waited on rather than asked again */
  private readonly drained = new Set<string>();
  /** per queue: when (local clock) its next delayed job is due */
  private readonly due = new Map<string, number>();
  /** queues to look at now although nothing else calls for a turn (a due time came) */
  private readonly promote = new Set<string>();
  private dueTimer: NodeJS.Timeout | null = null;
  private flowTimer: NodeJS.Timeout | null = null;
  /** queues with concurrency or rate limits, as their last turn said */
  private readonly limited = new Set<string>();
  /** per queue: when (local clock) its last turn came back */
  private readonly lastTurn = new Map<string, number>();
  private turns = 0;
  private done: Promise<void> | null = null;
  private readonly passes = new Set<Promise<void>>();
  /** jobs asked for by turns still at the broker */
  private leasePending = 0;
  private failures = 0;
  private backoffUntil = 0;

  constructor(
    private readonly broker: Broker,
    private readonly options: FetchLoopOptions,
    private readonly hooks: FetchLoopHooks,
  ) {}

  start(): void {
    this.done = this.loop();
    this.flowTimer = setInterval(() => this.checkFlow(), FLOW_CHECK_MS);
    this.flowTimer.unref();
  }

  /** Queues whose jobs are held unstarted and that had no turn lately get one (see FLOW_CHECK_MS). */
  private checkFlow(): void {
    const stale = Date.now() - FLOW_CHECK_MS;
    let any = false;
    for (const [index, queue] of this.options.queues.entries()) {
      if ((this.lastTurn.get(queue) ?? 0) > stale || !this.hooks.holdsUnstarted(index)) continue;
      this.promote.add(queue);
      any = true;
    }
    if (any) this.wakeup.notify();
  }

  write(pending: PendingWrite): void {
    let list = this.outbox.get(pending.queue);
    if (!list) {
      list = [];
      this.outbox.set(pending.queue, list);
    }
    list.push(pending);
    this.pending++;
    this.wakeup.notify();
  }

  /** Resolves once every write handed in so far is confirmed (or abandoned). */
  flushed(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** No more leases; blocking waits are ended. Jobs a wait leased as it ended still reach `leased`. */
  async stopLeasing(): Promise<void> {
    this.leasing = false;
    await this.broker.endWaits();
    await this.broker.interruptBlocking();
    await Promise.allSettled([...this.waits.values()]);
  }

  /** Gives up on writes not yet confirmed (Redis unreachable at close) and returns them. */
  async abandon(): Promise<PendingWrite[]> {
    this.stopped = true;
    this.abort.abort(new Error('fetch loop abandoned'));
    this.stopLatch.open();
    this.wakeup.notify();
    await this.done;
    const left = [...this.outbox.values()].flat();
    this.outbox.clear();
    this.settle(left.length);
    return left;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // what is still retrying carries no unconfirmed write by now (close() abandons those first):
    // a lease attempt against a Redis that is away must not hold close() up
    this.abort.abort(new Error('fetch loop stopped'));
    this.stopLatch.open();
    this.wakeup.notify();
    if (this.dueTimer) clearTimeout(this.dueTimer);
    if (this.flowTimer) clearInterval(this.flowTimer);
    await this.done;
  }

  /**
   * Starts passes while there is something to write or room to lease, up to MAX_PASSES at once: a
   * second pass gathers what finished while the first is at Redis, so the main thread and Redis
   * work side by side. With nothing to do, empty queues are waited on.
   */
  private async loop(): Promise<void> {
    while (!this.stopped) {
      const wait = this.backoffUntil - Date.now();
      if (wait > 0) await sleep(wait, this.stopLatch.opened);
      if (this.stopped) break;
      if (this.passes.size < MAX_PASSES && this.startPass()) continue;
      this.armWaits();
      await this.wakeup.wait();
    }
    await Promise.allSettled([...this.passes]);
  }

  /** Launches a pass when one has work; false when there is none. */
  private startPass(): boolean {
    if (!this.hasWork()) return false;
    const pass: Promise<void> = this.pass().then(
      () => {
        this.failures = 0;
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.hooks.error(err);
        this.backoffUntil = Date.now() + backoffDelay(this.failures++);
      },
    );
    this.passes.add(pass);
    void pass.finally(() => {
      this.passes.delete(pass);
      this.wakeup.notify();
    });
    return true;
  }

  private hasWork(): boolean {
    if (this.outbox.size > 0 || this.promote.size > 0) return true;
    if (!this.leasing || this.room() <= 0) return false;
    return this.options.queues.some((q) => !this.waits.has(q) && !this.drained.has(q) && this.leaseCount(q, this.room()) > 0);
  }

  /** Jobs still to lease: what the supervisor wants, less what passes in flight have asked for. */
  private room(): number {
    return this.hooks.want() - this.leasePending;
  }

  /** One turn per queue that has writes, room to lease, or a due time, queue by queue in the order given. */
  private async pass(): Promise<void> {
    for (const [index, queue] of this.options.queues.entries()) {
      if (this.stopped) break;
      const writes = this.takeWrites(queue);
      const room = this.leasing ? this.room() : 0;
      const canLease = room > 0 && !this.waits.has(queue) && !this.drained.has(queue);
      const count = canLease ? this.leaseCount(queue, room) : 0;
      const promote = this.promote.delete(queue);
      if (writes.length === 0 && count === 0 && !promote) continue;
      this.leasePending += count;
      let result: TurnResult;
      try {
        result = await this.turn(queue, writes, count);
      } catch (err) {
        this.outbox.set(queue, writes.concat(this.outbox.get(queue) ?? []));
        throw err;
      } finally {
        this.leasePending -= count;
      }
      writes.forEach((w, i) => {
        this.guarded(() => this.hooks.written(w, result.written[i]!, result.now));
      });
      this.settle(writes.length);
      this.afterLease(index, queue, count, result);
    }
  }

  /** How many to lease from a queue given `room`: a limited queue never ahead of free slots. */
  private leaseCount(queue: string, room: number): number {
    const count = Math.min(room, this.options.fetchBatchSize);
    return this.limited.has(queue) ? Math.max(0, Math.min(count, this.hooks.free())) : count;
  }

  /** The writes waiting for a queue, at most MAX_WRITES_PER_TURN (after an outage there can be many). */
  private takeWrites(queue: string): PendingWrite[] {
    const all = this.outbox.get(queue);
    if (!all) return [];
    if (all.length <= MAX_WRITES_PER_TURN) {
      this.outbox.delete(queue);
      return all;
    }
    return all.splice(0, MAX_WRITES_PER_TURN);
  }

  private turn(queue: string, pending: PendingWrite[], count: number): Promise<TurnResult> {
    const writes = pending.map((p) => p.write);
    const lease = count > 0 ? this.leaseRequest(count) : null;
    let first = true;
    // a retry only writes: a lease whose reply was lost would be leased twice
    const attempt = () => {
      const l = first ? lease : null;
      first = false;
      return this.broker.turn(queue, writes, l);
    };
    return withRetry(attempt, { maxDelayMs: this.options.retryMaxDelayMs, signal: this.abort.signal });
  }

  private leaseRequest(count: number): LeaseRequest {
    const { owner, tokenBase, leaseMs } = this.options;
    return { count, owner, tokenBase: `${tokenBase}.${(this.turns++).toString(36)}`, leaseMs };
  }

  private afterLease(index: number, queue: string, count: number, result: TurnResult): void {
    this.lastTurn.set(queue, Date.now());
    if (result.limited) this.limited.add(queue);
    else this.limited.delete(queue);
    if (result.paused) this.hooks.paused(index, queue);
    if (count > 0) {
      if (result.leased.length + result.dropped.length < count) this.drained.add(queue);
      else this.drained.delete(queue);
    }
    this.noteDue(queue, result);
    if (result.handoff) this.hooks.handoff(queue);
    if (result.leased.length > 0 || result.dropped.length > 0) this.hooks.leased(index, queue, result.leased, result.dropped);
  }

  /** Blocks on the marker of every empty queue while there is room for work. */
  private armWaits(): void {
    if (!this.leasing || this.stopped || this.room() <= 0) return;
    for (const [index, queue] of this.options.queues.entries()) {
      if (!this.drained.has(queue) || this.waits.has(queue)) continue;
      // queues after the first share what room is left; a wait with none still wakes us, leasing nothing
      const count = this.leaseCount(queue, Math.max(0, this.room()));
      this.leasePending += count;
      const wait = this.broker.waitForWork(queue, count > 0 ? this.leaseRequest(count) : null, this.blockFor(queue)).then(
        (result) => {
          this.settleWait(queue, count);
          // woken with no room to lease: the work is still there, for the next pass to lease; the
          // room is held by waits on other queues, which are ended so that it comes free
          if (count === 0 && result.woken) {
            this.drained.delete(queue);
            this.freeReservedRoom();
          }
          this.guarded(() => this.afterLease(index, queue, count, result));
        },
        (err: unknown) => {
          // an outage or close(): the next pass leases with a plain turn, retried with backoff
          this.settleWait(queue, count);
          this.drained.delete(queue);
          if (!this.stopped && this.leasing && !isRetryable(err)) {
            this.hooks.error(err);
            this.backoffUntil = Date.now() + backoffDelay(this.failures++);
          }
        },
      );
      this.waits.set(queue, wait);
      this.waitCounts.set(queue, count);
    }
  }

  /** Ends the waits that hold room to lease (see armWaits); they return at once and lease what is there. */
  private freeReservedRoom(): void {
    for (const [queue, count] of this.waitCounts) {
      if (count > 0) void this.broker.endWait(queue).catch(() => undefined);
    }
  }

  private settleWait(queue: string, count: number): void {
    this.waitCounts.delete(queue);
    this.waits.delete(queue);
    this.leasePending -= count;
    this.wakeup.notify();
  }

  /** A hook that throws (a user's logger, say) is reported, never left as an unhandled rejection. */
  private guarded(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.hooks.error(err);
    }
  }

  /** How long a wait may block: until the queue's next due time, at most what the broker allows. */
  private blockFor(queue: string): number {
    const due = this.due.get(queue);
    const limit = this.broker.maxBlockMs;
    return due === undefined ? limit : Math.max(1, Math.min(limit, due - Date.now()));
  }

  private noteDue(queue: string, result: TurnResult): void {
    if (result.nextDueAt === null) this.due.delete(queue);
    else this.due.set(queue, Date.now() + Math.max(0, result.nextDueAt - result.now));
    this.scheduleDue();
  }

  /** One timer for the earliest due time of any queue: when it comes, that queue gets a turn. */
  private scheduleDue(): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    if (this.due.size === 0 || this.stopped) return;
    const earliest = Math.min(...this.due.values());
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = null;
        const now = Date.now();
        for (const [queue, at] of this.due) {
          if (at > now) continue;
          this.due.delete(queue);
          this.promote.add(queue);
          this.drained.delete(queue);
        }
        this.scheduleDue();
        this.wakeup.notify();
      },
      Math.max(0, earliest - Date.now()),
    );
    this.dueTimer.unref();
  }

  private settle(count: number): void {
    this.pending -= count;
    if (this.pending > 0 || this.flushWaiters.length === 0) return;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
