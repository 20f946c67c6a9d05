import { EventEmitter } from 'eventemitter3';
import type { Broker, EventBatch, EventCursor } from './broker';
import { checkQueueName, type ConnectionOptions, resolveQueueOptions } from './config';
import { ValidationError } from './errors';
import type { StreamEventMap } from './event-codec';
import type { BrokerDownEvent, BrokerUpEvent } from './health';
import { clientBroker } from './redis/client-broker';
import { compareIds } from './redis/event-stream';
import { isRetryable, withRetry } from './retry';
import type { StreamEventName } from './states';

/**
 * Events were trimmed from the stream before this subscriber read them (it fell more than
 * `eventsMaxLen` events behind, or resumed from an id that old). Never a silent loss.
 */
export interface GapEvent {
  queue: string;
  /** the last id this subscriber had read */
  after: string;
  /** the oldest id still in the stream (null: it holds none); reading goes on from there */
  resumedAt: string | null;
  /** how many events were lost; null when this subscriber cannot tell (it resumed from an id it was given) */
  missed: number | null;
}

export type QueueEventsListeners = {
  [K in StreamEventName]: (event: StreamEventMap[K], id: string) => void;
} & {
  gap: (event: GapEvent) => void;
  /** Redis stopped answering; reading resumes by itself where it stopped. */
  'broker:down': (event: BrokerDownEvent) => void;
  'broker:up': (event: BrokerUpEvent) => void;
  /** a listener threw, or Redis refused a read for a reason that is not an outage */
  error: (error: Error) => void;
};

export interface QueueEventsOptions {
  connection?: ConnectionOptions;
  prefix?: string;
  /**
   * Where reading starts: 'now' (events written after the subscriber started), '0' (the oldest
   * event still kept), or the id of the last event a previous subscriber handled. @default 'now'
   */
  from?: 'now' | '0' | (string & {});
  commandTimeoutMs?: number;
  retryMaxDelayMs?: number;
}

/** Entries read per round trip. */
const BATCH = 500;
const STREAM_ID = /^\d+(-\d+)?$/;

/**
 * Every lifecycle event of one queue, from any process: a reader of the queue's Redis stream. Each
 * listener gets the payload the supervisor's local event carries and the entry's id; keep the id
 * of the last event handled (`lastId`) to resume from it after a restart.
 */
export class QueueEvents extends EventEmitter<QueueEventsListeners> {
  readonly queue: string;
  private readonly broker: Broker;
  private readonly stop = new AbortController();
  private readonly retryMaxDelayMs: number;
  private cursor: string | null;
  /** how many entries the stream had ever had up to `cursor`; null when unknown */
  private seen: number | null;
  /** reading starts at the oldest entry kept: what was trimmed before is not a gap */
  private fromOldest: boolean;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly loop: Promise<void>;

  constructor(queue: string, options: QueueEventsOptions = {}) {
    super();
    this.queue = checkQueueName(queue);
    const { from = 'now', ...rest } = options;
    if (from !== 'now' && !STREAM_ID.test(from)) {
      throw new ValidationError(`QueueEvents: from must be 'now', '0' or a stream id such as 1700000000000-0, got ${JSON.stringify(from)}`);
    }
    const o = resolveQueueOptions(rest);
    this.retryMaxDelayMs = o.retryMaxDelayMs;
    this.broker = clientBroker(o, 'events', queue);
    this.broker.health.on('down', (e) => this.safeEmit('broker:down', e));
    this.broker.health.on('up', (e) => this.safeEmit('broker:up', e));
    this.cursor = from === 'now' ? null : from === '0' ? '0-0' : from.includes('-') ? from : `${from}-0`;
    this.seen = from === '0' ? 0 : null;
    this.fromOldest = from === '0';
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    if (this.cursor !== null) this.markReady();
    this.loop = this.run().catch(() => undefined);
  }

  /** The id of the last event read (and handed to listeners); pass it as `from` to resume after it. */
  get lastId(): string | null {
    return this.cursor;
  }

  /** Resolves once the starting point is fixed (with from 'now', every event written after this is seen), or at close(). */
  waitUntilReady(): Promise<void> {
    return this.ready;
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.markReady(); // nobody waits for a start that will not come
    await this.broker.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    const retrying = <T>(operation: () => Promise<T>) => withRetry(operation, { maxDelayMs: this.retryMaxDelayMs, signal });
    while (!signal.aborted) {
      try {
        if (this.cursor === null) {
          const state = await retrying(() => this.broker.observe.eventStreamState(this.queue));
          this.cursor = state.lastId;
          this.seen = state.added;
          this.markReady();
        }
        const after = this.cursor;
        const batch = await retrying(() => this.broker.observe.readEventBatch(this.queue, after, BATCH));
        if (signal.aborted) return;
        this.deliver(after, batch);
        if (batch.entries.length < BATCH && !signal.aborted) {
          // caught up: wait for the next entry (only a wake-up; the next batch reads it with the stream's state).
          // In an outage the batch read, not this wait, is what retries: it returns at once when Redis is back.
          await this.broker.readEvents(this.queue, this.cursor as EventCursor, this.broker.maxBlockMs, 1).catch(async (err: unknown) => {
            if (!isRetryable(err)) throw err;
            await new Promise((resolve) => setTimeout(resolve, Math.min(200, this.retryMaxDelayMs)));
          });
        }
      } catch (err) {
        if (signal.aborted) return;
        this.safeEmit('error', err instanceof Error ? err : new Error(`reading events failed: ${String(err)}`));
        await new Promise((resolve) => setTimeout(resolve, this.retryMaxDelayMs));
      }
    }
  }

  /** Says when entries after `after` were trimmed before this read, then hands each entry to its listeners. */
  private deliver(after: string, batch: EventBatch): void {
    const fromOldest = this.fromOldest;
    this.fromOldest = false;
    if (compareIds(batch.lastId, after) < 0) {
      // the stream is behind what was read here: deleted and written again, or a failover to a
      // replica that lacked the last entries; what it holds now cannot be told apart, so say so
      this.safeEmit('gap', { queue: this.queue, after, resumedAt: batch.firstId, missed: null });
      this.cursor = batch.lastId;
      this.seen = batch.added;
      return;
    }
    const trimmedPast =
      !fromOldest && (batch.firstId === null ? compareIds(batch.lastId, after) > 0 : compareIds(batch.firstId, after) > 0);
    if (trimmedPast) {
      let missed = this.seen === null || batch.added === null ? null : batch.added - batch.length - this.seen;
      if (missed !== null && missed < 0) missed = null; // the stream's count started over
      if (missed !== 0) this.safeEmit('gap', { queue: this.queue, after, resumedAt: batch.firstId, missed });
    }
    for (const { id, event } of batch.entries) {
      if (this.stop.signal.aborted) return;
      this.cursor = id;
      if (event) this.safeEmit(event.type, event.payload, id);
    }
    const n = batch.entries.length;
    if (n < BATCH) {
      // read to the end of the stream as it was: everything it ever had is accounted for
      this.seen = batch.added;
      if (compareIds(batch.lastId, this.cursor ?? after) > 0) this.cursor = batch.lastId;
    } else if (trimmedPast || fromOldest) {
      this.seen = batch.added === null ? null : batch.added - batch.length + n;
    } else if (this.seen !== null) {
      this.seen += n;
    }
  }

  /** A listener that throws is reported as `error`; one that throws on `error` is ignored. Reading goes on. */
  private safeEmit(type: string, ...args: unknown[]): void {
    try {
      (this.emit as (type: string, ...args: unknown[]) => boolean)(type, ...args);
    } catch (err) {
      if (type === 'error') return;
      this.safeEmit('error', err instanceof Error ? err : new Error(`a ${type} listener threw ${String(err)}`));
    }
  }
}
