import type { Broker } from './broker';
import { depRef, parseDepRef } from './redis/keys';
import { FINAL_STATUSES } from './states';

const FINISHED: ReadonlySet<string> = FINAL_STATUSES;

/** Finished jobs handed off per read. */
const HANDOFF_BATCH = 100;

/**
 * Tells dependents what became of the jobs they depend on. A job with dependents that finishes
 * (completed, failed for good, canceled) joins its queue's handoff set in the same script that
 * finishes it; this then delivers its outcome to each dependent (in whatever queue: one script
 * there per dependent, never one spanning two queues) and only then takes it out of the set. Every
 * step is idempotent, so a process that dies halfway leaves the set as it was, and the next run
 * (by whichever supervisor of the queue comes next: they run it on start and now and then)
 * finishes the job. A dependent that ends because of it (onDependencyFailure fail or cancel)
 * joins its own queue's handoff set, handed off in turn.
 */
export async function handOff(broker: Broker, queue: string): Promise<void> {
  // queues with hand-offs to do: a dependent that ends joins its queue's set, this one's too
  const todo = [queue];
  while (todo.length > 0) {
    const q = todo.shift()!;
    for (;;) {
      const items = await broker.handoffPending(q, HANDOFF_BATCH);
      for (const item of items) {
        // its record is gone, or it runs again (queue.retry): nothing to tell now
        if (!FINISHED.has(item.status)) continue;
        for (const ref of item.dependents) {
          const { queue: dq, id } = parseDepRef(ref);
          const { handoff } = await broker.resolveDependency(dq, id, depRef(q, item.id), item.status, item.outcome);
          if (handoff && !todo.includes(dq)) todo.push(dq);
        }
      }
      await broker.handoffDone(
        q,
        items.map((item) => item.id),
      );
      if (items.length < HANDOFF_BATCH) break;
    }
  }
}

/** One hand-off per queue at a time; one asked for meanwhile runs right after. */
export class HandoffRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly broker: Broker,
    private readonly onError: (err: unknown) => void,
  ) {}

  kick(queue: string): Promise<void> {
    const current = this.running.get(queue);
    if (current) {
      this.again.add(queue);
      return current;
    }
    const run = (async () => {
      do {
        this.again.delete(queue);
        await handOff(this.broker, queue).catch(this.onError);
      } while (this.again.has(queue));
    })().finally(() => this.running.delete(queue));
    this.running.set(queue, run);
    return run;
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}
