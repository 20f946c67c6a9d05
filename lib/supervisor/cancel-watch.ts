import type { Broker } from '../broker';
import { isRetryable } from '../retry';

/** How often a queue whose jobs run here is asked which of them were canceled. */
export const CANCEL_CHECK_MS = 250;

export interface CancelWatchHooks {
  /** the ids of the queue's jobs held here (only when there are some is it asked) */
  held(queue: string): ReadonlySet<string>;
  /** a job was asked to cancel (perhaps not one held here: the hook looks) */
  cancel(queue: string, id: string, reason: string): void;
  error(err: unknown): void;
}

/**
 * Brings queue.cancel() of a running job, from any process, to the supervisor running it: while
 * it holds jobs of a queue, it reads the queue's canceling set every CANCEL_CHECK_MS (one
 * command, empty nearly always; a reason is read only for a job held here). Polling rather than Pub/Sub: nothing is missed across a
 * disconnect, and an idle supervisor sends nothing. A request stays in the set until the job
 * ends, so one seen while Redis was away is seen on the next look.
 */
export class CancelWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly broker: Broker,
    private readonly queues: readonly string[],
    private readonly hooks: CancelWatchHooks,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), CANCEL_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const queue of this.queues) {
        const held = this.hooks.held(queue);
        if (held.size === 0) continue;
        const requests = await this.broker.cancelRequests(queue, held);
        for (const [id, reason] of requests) this.hooks.cancel(queue, id, reason);
      }
    } catch (err) {
      // an outage is reported by the fetch loop and the lease keeper already
      if (!isRetryable(err)) this.hooks.error(err);
    } finally {
      this.checking = false;
    }
  }
}
