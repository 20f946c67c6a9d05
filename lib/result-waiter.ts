import { JobFailedError, JobNotFoundError, WaitTimeoutError, type SerializedError } from './errors';
import { FINAL_STATUSES, jobFromHash, parseStored } from './job';
import { BLOCK_LIMIT_MS, type RedisBroker, type StreamEntry } from './redis/broker';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Waits for outcomes by reading the queue's event stream on one connection, shared by every
 * waiter of a Queue. The stream carries the outcome itself, so a job whose record was deleted at
 * once (TTL 0) still reaches a caller who was already waiting. When the stream has been quiet for
 * a while, the records of the jobs still awaited are checked, in case their event was trimmed.
 */
export class ResultWaiter {
  private readonly waiters = new Map<string, Waiter[]>();
  private lastId: string | null = null;
  private reading: Promise<void> | null = null;
  private closed = false;
  private caughtUp: { id: string; resolve: () => void }[] = [];

  constructor(
    private readonly broker: RedisBroker,
    private readonly queue: string,
  ) {}

  async wait<R>(jobId: string, timeoutMs: number): Promise<R> {
    // The stream position is taken before the record is read: an outcome written after the read
    // is then certain to be in what the reader sees.
    if (this.lastId === null) this.lastId = await this.broker.lastEventId(this.queue);
    const outcome = new Promise<R>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (v: unknown) => void, reject };
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
    await this.checkRecord(jobId);
    return outcome;
  }

  close(): void {
    this.closed = true;
    for (const [jobId, list] of this.waiters) {
      for (const w of list) this.settle(jobId, w, () => w.reject(new Error('queue closed while waiting for a result')));
    }
  }

  /** Settles from the stored record when it is final; an absent record settles after the reader has caught up. */
  private async checkRecord(jobId: string): Promise<void> {
    const hash = await this.broker.getJobHash(this.queue, jobId);
    if (hash?.status && FINAL_STATUSES.has(hash.status as never)) {
      const info = jobFromHash(this.queue, jobId, hash);
      this.deliver(jobId, info.status === 'completed' ? { result: info.result } : { error: info.error! });
    } else if (!hash) {
      const tail = await this.broker.lastEventId(this.queue);
      await new Promise<void>((resolve) => {
        if (compareIds(this.lastId!, tail) >= 0) resolve();
        else this.caughtUp.push({ id: tail, resolve });
      });
      this.failAll(jobId, new JobNotFoundError(jobId));
    }
  }

  private async readLoop(): Promise<void> {
    try {
      while (!this.closed && this.waiters.size > 0) {
        let entries: StreamEntry[];
        try {
          entries = await this.broker.readEvents(this.queue, this.lastId!, BLOCK_LIMIT_MS);
        } catch {
          if (this.closed) break;
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        for (const entry of entries) {
          this.lastId = entry.id;
          this.onEvent(entry.fields);
        }
        this.releaseCaughtUp();
        if (entries.length === 0) await this.recheckAll();
      }
    } finally {
      this.reading = null;
      this.releaseCaughtUp(true);
      // a waiter may have arrived just as the loop ended; with none, the next one starts from the tail
      if (!this.closed && this.waiters.size > 0) this.reading = this.readLoop();
      else this.lastId = null;
    }
  }

  private onEvent(fields: Record<string, string>): void {
    const { event, jobId } = fields;
    if (!jobId || !this.waiters.has(jobId)) return;
    if (event === 'completed' && fields.result !== undefined) {
      this.deliver(jobId, { result: parseStored(fields.result, `job ${jobId} result`) });
    } else if (event === 'failed' && fields.error !== undefined) {
      this.deliver(jobId, { error: parseStored<SerializedError>(fields.error, `job ${jobId} error`) });
    }
  }

  private async recheckAll(): Promise<void> {
    for (const jobId of [...this.waiters.keys()]) {
      await this.checkRecord(jobId).catch(() => undefined);
    }
  }

  private deliver(jobId: string, outcome: { result: unknown } | { error: SerializedError }): void {
    if ('error' in outcome) {
      this.failAll(jobId, new JobFailedError(jobId, outcome.error));
      return;
    }
    for (const w of this.waiters.get(jobId) ?? []) this.settle(jobId, w, () => w.resolve(outcome.result));
  }

  private failAll(jobId: string, err: Error): void {
    for (const w of this.waiters.get(jobId) ?? []) this.settle(jobId, w, () => w.reject(err));
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
      if (all || compareIds(this.lastId!, c.id) >= 0) c.resolve();
      else still.push(c);
    }
    this.caughtUp = still;
  }
}

/** Orders stream ids ("ms-seq"). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
