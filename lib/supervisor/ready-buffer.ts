import type { LeasedJob } from '../redis/broker';

export interface ReadyJob {
  queue: string;
  job: LeasedJob;
}

/** Under 'auto', jobs are prefetched while recent runs take less than this on average. */
const AUTO_PREFETCH_BELOW_MS = 20;

/**
 * Jobs leased ahead of free slots, so that a slot that frees up is filled without waiting for a
 * round trip to Redis. They are held like running jobs (their leases are renewed, and a crash
 * puts them back after the lease), but their timeout clock has not started. Under 'auto' only
 * short jobs are prefetched: hoarding long jobs would keep them from idle supervisors.
 */
export class ReadyBuffer {
  private readonly items: ReadyJob[] = [];
  private averageRunMs: number | null = null;

  constructor(
    private readonly setting: number | 'auto',
    private readonly concurrency: number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** How many jobs to keep leased beyond the free slots. */
  target(): number {
    if (this.setting !== 'auto') return this.setting;
    return this.averageRunMs !== null && this.averageRunMs < AUTO_PREFETCH_BELOW_MS ? Math.max(this.concurrency, 32) : 0;
  }

  /** Learns how long runs take (an exponentially weighted average). */
  recordRun(ms: number): void {
    this.averageRunMs = this.averageRunMs === null ? ms : this.averageRunMs * 0.9 + ms * 0.1;
  }

  push(item: ReadyJob): void {
    this.items.push(item);
  }

  shift(): ReadyJob | undefined {
    return this.items.shift();
  }

  drain(): ReadyJob[] {
    return this.items.splice(0);
  }
}
