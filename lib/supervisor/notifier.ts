/**
 * A wake-up call for one waiter that is never lost: a `notify()` that comes while nobody waits
 * makes the next `wait()` return at once.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | null = null;

  notify(): void {
    const resolve = this.resolve;
    if (resolve) {
      this.resolve = null;
      resolve();
    } else {
      this.pending = true;
    }
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

/** A one-way switch: once opened, `opened` stays resolved, so a late waiter is not left behind. */
export class Latch {
  private release!: () => void;
  readonly opened: Promise<void> = new Promise((resolve) => {
    this.release = resolve;
  });

  open(): void {
    this.release();
  }
}

/** Resolves after `ms`, or earlier when `until` resolves. */
export function sleep(ms: number, until?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    until?.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => undefined,
    );
  });
}

/** Exponential backoff with full jitter: a random delay up to base * 2^attempt, capped. */
export function backoffDelay(attempt: number, baseMs = 100, capMs = 5_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
}
