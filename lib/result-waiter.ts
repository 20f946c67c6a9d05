import type { Broker, EventCursor } from './broker';
import {
  ClosedError,
  ErrorCodes,
  JobCanceledError,
  JobFailedError,
  JobNotFoundError,
  type SerializedError,
  WaitTimeoutError,
} from './errors';
import type { StreamEvent } from './event-codec';
import { FINAL_STATUSES } from './states';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

type Outcome = { result: unknown } | { error: SerializedError };

/** Runs a broker operation, retrying through an outage for a bounded time (Queue's brokerWaitMs). */
export type Reachable = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/** How long the reader backs off after a failed read (an outage), before it reads again. */
const READ_RETRY_MS = 250;

/**
 * Waits for outcomes by reading the queue's event stream on one connection, shared by every
 * waiter of a Queue. An event carries the outcome itself, so a job whose record was deleted at
 * once (TTL 0) still reaches a caller who was already waiting; a result too large for the event
 * is read from the record. When the stream has been quiet for a while, the records of the jobs
 * still awaited are checked, in case their event was trimmed.
 */
export class ResultWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private cursor: EventCursor | null = null;
  private reading: Promise<void> | null = null;
  private closed = false;
  private caughtUp: { target: EventCursor; resolve: () => void }[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly queue: string,
    private readonly reachable: Reachable,
  ) {}

  /** Jobs with a caller waiting for them. */
  get waiting(): number {
    return this.waiters.size;
  }

  async wait<R>(jobId: string, timeoutMs: number): Promise<R> {
    // The stream position is taken before the record is read: an outcome written after the read
    // is then certain to be in what the reader sees.
    this.cursor ??= await this.reachable('waitForResult', () => this.broker.eventCursor(this.queue));
    let waiter!: Waiter;
    const outcome = new Promise<R>((resolve, reject) => {
      waiter = { resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => this.settle(jobId, waiter, () => reject(new WaitTimeoutError(jobId, timeoutMs))), timeoutMs);
      }
      const list = this.waiters.get(jobId) ?? [];
      list.push(waiter);
      this.waiters.set(jobId, list);
    });
    // the record check may settle `outcome` before the caller holds it: mark it handled meanwhile
    outcome.catch(() => undefined);
    this.reading ??= this.readLoop();
    try {
      await this.checkRecord(jobId);
    } catch (err) {
      this.settle(jobId, waiter, () => undefined);
      throw err;
    }
    return outcome;
  }

  close(): void {
    this.closed = true;
    for (const [jobId, list] of this.waiters) {
      for (const w of [...list]) this.settle(jobId, w, () => w.reject(new ClosedError(`queue ${this.queue}`)));
    }
  }

  /**
   * Settles from the stored record when it is final. An absent record settles once the reader has
   * read past the stream's present end (an outcome written meanwhile wins); this never waits for
   * the reader itself, which calls it too.
   */
  private async checkRecord(jobId: string): Promise<void> {
    const info = await this.reachable('waitForResult', () => this.broker.getOutcome(this.queue, jobId));
    if (info && FINAL_STATUSES.has(info.status)) {
      this.deliver(jobId, info.status === 'completed' ? { result: info.result } : { error: info.error! });
    } else if (!info) {
      const tail = await this.reachable('waitForResult', () => this.broker.eventCursor(this.queue));
      const notFound = () => this.failAll(jobId, new JobNotFoundError(jobId));
      if (this.cursor === null || this.broker.reached(this.cursor, tail)) notFound();
      else this.caughtUp.push({ target: tail, resolve: notFound });
    }
  }

  private async readLoop(): Promise<void> {
    try {
      while (!this.closed && this.waiters.size > 0 && this.cursor !== null) {
        let events: StreamEvent[];
        try {
          const read = await this.broker.readEvents(this.queue, this.cursor, this.broker.maxBlockMs);
          this.cursor = read.cursor;
          events = read.events;
        } catch {
          if (this.closed) break;
          await new Promise((r) => setTimeout(r, READ_RETRY_MS));
          continue;
        }
        for (const event of events) this.onEvent(event);
        this.releaseCaughtUp();
        if (events.length === 0) await this.recheckAll();
      }
    } finally {
      this.reading = null;
      this.releaseCaughtUp(true);
      // a waiter may have arrived just as the loop ended; with none, the next one starts from the tail
      if (!this.closed && this.waiters.size > 0) this.reading = this.readLoop();
      else this.cursor = null;
    }
  }

  private onEvent(event: StreamEvent): void {
    if (!this.waiters.has(event.jobId)) return;
    if (event.type === 'completed') {
      if (event.payload.resultOmitted) void this.readOmittedResult(event.jobId);
      else this.deliver(event.jobId, { result: event.payload.result });
    } else if (event.type === 'failed') {
      this.deliver(event.jobId, { error: event.payload.error });
    } else if (event.type === 'canceled') {
      this.failAll(event.jobId, new JobCanceledError(event.payload.reason));
    }
  }

  /** The result was too large for its event: read it from the record. */
  private async readOmittedResult(jobId: string): Promise<void> {
    try {
      const info = await this.reachable('waitForResult', () => this.broker.getOutcome(this.queue, jobId));
      if (info?.status === 'completed') this.deliver(jobId, { result: info.result });
      else {
        const why =
          'it completed, but its result was too large for the event stream (eventDataMaxBytes) and its record is gone (resultTtlMs)';
        this.failAll(jobId, new JobNotFoundError(jobId, why));
      }
    } catch (err) {
      this.failAll(jobId, err as Error);
    }
  }

  private async recheckAll(): Promise<void> {
    for (const jobId of [...this.waiters.keys()]) {
      await this.checkRecord(jobId).catch(() => undefined);
    }
  }

  private deliver(jobId: string, outcome: Outcome): void {
    if ('error' in outcome) {
      const { error } = outcome;
      this.failAll(
        jobId,
        error.code === ErrorCodes.JOB_CANCELED ? new JobCanceledError(error.reason ?? '') : new JobFailedError(jobId, error),
      );
      return;
    }
    for (const w of [...(this.waiters.get(jobId) ?? [])]) this.settle(jobId, w, () => w.resolve(outcome.result));
  }

  private failAll(jobId: string, err: Error): void {
    for (const w of [...(this.waiters.get(jobId) ?? [])]) this.settle(jobId, w, () => w.reject(err));
  }

  private settle(jobId: string, waiter: Waiter, action: () => void): void {
    const list = this.waiters.get(jobId);
    const index = list?.indexOf(waiter) ?? -1;
    if (index < 0) return;
    list!.splice(index, 1);
    if (list!.length === 0) this.waiters.delete(jobId);
    clearTimeout(waiter.timer);
    action();
  }

  private releaseCaughtUp(all = false): void {
    const still: typeof this.caughtUp = [];
    for (const c of this.caughtUp) {
      if (all || (this.cursor !== null && this.broker.reached(this.cursor, c.target))) c.resolve();
      else still.push(c);
    }
    this.caughtUp = still;
  }
}
