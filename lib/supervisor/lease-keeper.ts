import type { Broker, Run, WriteResult } from '../broker';
import type { ReleaseWrite } from './runs';

export interface HeldLease extends Run {
  queue: string;
}

export interface LeaseKeeperOptions {
  queues: string[];
  leaseMs: number;
  /** failed-record TTL for a job that stalls past maxStalls, unless it set its own */
  failedTtlMs: number;
  /** what every lease token this supervisor takes starts with */
  ownTokenPrefix: string;
}

export interface LeaseKeeperHooks {
  /** the leases this supervisor holds right now */
  held(): Iterable<HeldLease>;
  /** a lease of ours was found taken over */
  lost(queue: string, run: Run): void;
  /** jobs of another (dead) supervisor put back or failed */
  reaped(queue: string, writes: ReleaseWrite[], results: WriteResult[], now: number): void;
  /** now and then (with the registry trims): housekeeping of a queue that needs no lease, such as schedules */
  tidy(queue: string): Promise<void>;
  error(err: unknown): void;
}

/** Most expired leases released per queue per heartbeat. */
const REAP_BATCH = 100;
/** Registries of finished jobs are trimmed every this many heartbeats (once a minute with the default lease). */
const TRIM_EVERY = 6;

/**
 * The heartbeat: every leaseMs / 3, renew the leases this supervisor holds, then release jobs
 * whose leases expired elsewhere. Own leases come first, so after an outage longer than a lease
 * a supervisor keeps its jobs instead of every supervisor reaping every other's at once.
 * Renewing here, not in the threads, means a CPU-bound handler can never look stalled.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private reapNotBefore = 0;
  private beats = 0;

  constructor(
    private readonly broker: Broker,
    private readonly options: LeaseKeeperOptions,
    private readonly hooks: LeaseKeeperHooks,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.interval);
    this.timer.unref();
    void this.beat();
  }

  /**
   * Redis is back: renew our leases now, and hold off reaping for one heartbeat so that every
   * other supervisor also gets to renew its own before any expired-looking lease is taken.
   */
  afterOutage(): void {
    this.reapNotBefore = Date.now() + this.interval;
    void this.beat();
  }

  private get interval(): number {
    return Math.max(10, Math.floor(this.options.leaseMs / 3));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
  }

  /** One heartbeat; overlapping calls share the one in progress. */
  beat(): Promise<void> {
    this.beating ??= this.renewThenReap().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async renewThenReap(): Promise<void> {
    const byQueue = new Map<string, Run[]>();
    for (const lease of this.hooks.held()) {
      const list = byQueue.get(lease.queue) ?? [];
      list.push({ id: lease.id, token: lease.token });
      byQueue.set(lease.queue, list);
    }
    const mine = new Set<string>();
    for (const [queue, runs] of byQueue) {
      try {
        for (const run of runs) mine.add(run.id);
        const lost = await this.broker.renew(queue, runs, this.options.leaseMs);
        for (const id of lost) this.hooks.lost(queue, runs.find((r) => r.id === id)!);
      } catch (err) {
        this.hooks.error(err);
        return; // no reaping without having renewed: another's lease may only look expired to us
      }
    }
    if (Date.now() < this.reapNotBefore) return;
    const trim = this.beats++ % TRIM_EVERY === 0;
    for (const queue of this.options.queues) {
      try {
        if (trim) await this.hooks.tidy(queue).catch((err: unknown) => this.hooks.error(err));
        const expired = (await this.broker.expired(queue, REAP_BATCH, trim)).filter((r) => !mine.has(r.id));
        // Redis came back while that call was out: let every supervisor renew before anyone reaps
        if (Date.now() < this.reapNotBefore) return;
        if (expired.length === 0) continue;
        const writes = expired.map((run): ReleaseWrite => {
          const ttlMs = this.options.failedTtlMs;
          // a lease of ours that we do not hold: taken by a turn whose reply was lost in an
          // outage, so the job never started here; it goes back with its attempt, no stall counted
          if (run.token.startsWith(this.options.ownTokenPrefix))
            return { kind: 'release', ...run, mode: 'free', reason: 'lost-reply', ttlMs };
          return { kind: 'release', ...run, mode: 'stalled', reason: 'lease expired', ttlMs };
        });
        const { written, now } = await this.broker.turn(queue, writes, null);
        this.hooks.reaped(queue, writes, written, now);
      } catch (err) {
        this.hooks.error(err);
      }
    }
  }
}
