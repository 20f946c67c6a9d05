/** Under 'auto', jobs are prefetched while recent runs take less than this on average. */
const AUTO_PREFETCH_BELOW_MS = 20;

/**
 * Jobs leased and not yet handed to a thread: the jobs threads pull from. Jobs leased ahead of
 * free slots (prefetch) wait here, so a thread that asks is answered without a round trip to
 * Redis; they are held like running jobs (their leases are renewed, a crash puts them back after
 * the lease, close() puts them back at once) but their timeout clock has not started. Threads
 * get them queue by queue in the order the supervisor was given, and within a queue by priority,
 * then in lease order (a job leased later with a lower priority number overtakes those held). Under 'auto' only short jobs are prefetched: hoarding long ones would keep them from
 * idle supervisors.
 */
export class ReadyBuffer<T extends { priority: number }> {
  private readonly byQueue: T[][];
  private count = 0;
  private averageRunMs: number | null = null;

  /**
   * @param threadQueues jobs the threads can queue to start next: under 'auto' the buffer keeps
   * its own reserve on top, so a thread that empties its queue finds more here
   */
  constructor(
    queues: number,
    private readonly setting: number | 'auto',
    private readonly concurrency: number,
    private readonly threadQueues: number,
  ) {
    this.byQueue = Array.from({ length: queues }, () => []);
  }

  get size(): number {
    return this.count;
  }

  /** How many jobs to keep leased beyond the free slots. */
  target(): number {
    if (this.setting !== 'auto') return this.setting;
    return this.averageRunMs !== null && this.averageRunMs < AUTO_PREFETCH_BELOW_MS
      ? Math.max(this.concurrency, 32) + this.threadQueues
      : 0;
  }

  /** Learns how long runs take (an exponentially weighted average). */
  recordRun(ms: number): void {
    this.averageRunMs = this.averageRunMs === null ? ms : this.averageRunMs * 0.9 + ms * 0.1;
  }

  /** After the jobs held of its priority and higher. */
  push(queueIndex: number, item: T): void {
    const items = this.byQueue[queueIndex]!;
    const at = items.findIndex((held) => held.priority > item.priority);
    items.splice(at < 0 ? items.length : at, 0, item);
    this.count++;
  }

  /** Jobs handed out that come back unstarted: first again among their priority. */
  giveBack(queueIndex: number, item: T): void {
    const items = this.byQueue[queueIndex]!;
    const at = items.findIndex((held) => held.priority >= item.priority);
    items.splice(at < 0 ? items.length : at, 0, item);
    this.count++;
  }

  /** Every job held of one queue, taken out. */
  takeQueue(queueIndex: number): T[] {
    const items = this.byQueue[queueIndex]!.splice(0);
    this.count -= items.length;
    return items;
  }

  /** Whether jobs of this queue are held. */
  holds(queueIndex: number): boolean {
    return this.byQueue[queueIndex]!.length > 0;
  }

  /** Takes one job out, wherever it waits; false when it is not here. */
  remove(queueIndex: number, item: T): boolean {
    const items = this.byQueue[queueIndex]!;
    const at = items.indexOf(item);
    if (at < 0) return false;
    items.splice(at, 1);
    this.count--;
    return true;
  }

  /** Up to `max` jobs, the first queue's first. */
  take(max: number): T[] {
    const out: T[] = [];
    for (const items of this.byQueue) {
      if (out.length >= max) break;
      const n = Math.min(items.length, max - out.length);
      if (n > 0) out.push(...items.splice(0, n));
    }
    this.count -= out.length;
    return out;
  }

  drain(): T[] {
    return this.take(this.count);
  }
}
