import type { SerializedError } from '../errors';
import type { RequeueReason } from '../events';
import type { Outcome, RedisBroker, Released, ReleaseMode, Run } from '../redis/broker';
import { withRetry } from '../redis/retry';
import { backoffDelay, Latch, sleep } from './notifier';

export type Write =
  | { kind: 'finish'; queue: string; outcome: Outcome }
  | { kind: 'release'; queue: string; run: Run; mode: Exclude<ReleaseMode, 'stalled'>; reason: RequeueReason };

/**
 * Told once per write after Redis answered. A finish reports `written` or `refused` (the lease
 * had been lost); a release reports what release-4.lua did.
 */
export type OnWritten = (write: Write, state: 'written' | Released['state'], now: number, error?: SerializedError) => void;

export interface WriterSettings {
  maxStalls: number;
  failedTtlMs: number;
  eventsMaxLen: number;
  retryMaxDelayMs: number;
}

/**
 * Writes outcomes to Redis in batches. While one batch is being written, new outcomes gather
 * behind it, so under load many jobs share one script call and at low load none waits for a
 * timer. A failed write keeps its outcomes and retries with backoff until `abandon()`.
 */
export class OutcomeWriter {
  private pending: Write[] = [];
  private writing = false;
  private abandoned = false;
  private readonly stop = new Latch();
  private readonly abort = new AbortController();

  constructor(
    private readonly broker: RedisBroker,
    private readonly settings: WriterSettings,
    private readonly onWritten: OnWritten,
    private readonly onError: (err: unknown) => void,
  ) {}

  get size(): number {
    return this.pending.length + (this.writing ? 1 : 0);
  }

  add(write: Write): void {
    this.pending.push(write);
    if (!this.writing) void this.writeAll();
  }

  /** Stops retrying; what is still pending stays unwritten (its leases expire in Redis). */
  abandon(): Write[] {
    this.abandoned = true;
    this.stop.open();
    this.abort.abort(new Error('outcome writer abandoned'));
    const left = this.pending;
    this.pending = [];
    return left;
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    let failures = 0;
    while (this.pending.length > 0 && !this.abandoned) {
      const batch = this.pending;
      this.pending = [];
      try {
        // outages are retried inside (every write is safe to repeat); other errors back off here
        await withRetry(() => this.writeBatch(batch), { maxDelayMs: this.settings.retryMaxDelayMs, signal: this.abort.signal });
        failures = 0;
      } catch (err) {
        this.pending = batch.concat(this.pending);
        if (!this.abandoned) this.onError(err);
        await sleep(backoffDelay(failures++), this.stop.opened);
      }
    }
    this.writing = false;
  }

  private async writeBatch(batch: Write[]): Promise<void> {
    const byQueue = new Map<string, { finishes: Write[]; releases: Map<string, Write[]> }>();
    for (const w of batch) {
      let group = byQueue.get(w.queue);
      if (!group) {
        group = { finishes: [], releases: new Map() };
        byQueue.set(w.queue, group);
      }
      if (w.kind === 'finish') group.finishes.push(w);
      else {
        const policy = `${w.mode}:${w.reason}`;
        const list = group.releases.get(policy) ?? [];
        list.push(w);
        group.releases.set(policy, list);
      }
    }
    // one group at a time: a failure leaves the groups already written out of the retry
    for (const [queue, group] of byQueue) {
      if (group.finishes.length > 0) {
        const outcomes = group.finishes.map((w) => (w as Extract<Write, { kind: 'finish' }>).outcome);
        const { now, written } = await this.broker.finish(queue, outcomes, this.settings.eventsMaxLen);
        removeAll(batch, group.finishes);
        for (const [i, w] of group.finishes.entries()) this.onWritten(w, written[i] ? 'written' : 'refused', now);
      }
      for (const writes of group.releases.values()) {
        const first = writes[0] as Extract<Write, { kind: 'release' }>;
        const runs = writes.map((w) => (w as Extract<Write, { kind: 'release' }>).run);
        const { maxStalls, failedTtlMs, eventsMaxLen } = this.settings;
        const released = await this.broker.release(queue, runs, {
          maxStalls,
          failedTtlMs,
          eventsMaxLen,
          mode: first.mode,
          reason: first.reason,
        });
        removeAll(batch, writes);
        for (const [i, w] of writes.entries()) this.onWritten(w, released[i]?.state ?? 'refused', Date.now(), released[i]?.error);
      }
    }
  }
}

function removeAll(from: Write[], items: Write[]): void {
  const gone = new Set(items);
  let j = 0;
  for (const w of from) if (!gone.has(w)) from[j++] = w;
  from.length = j;
}
