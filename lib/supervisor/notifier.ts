/** A wake-up call many can wait for: `wait()` resolves at the next `notify()`. */
export class Notifier {
  private waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** A one-way switch: once opened, `opened` stays resolved, so a late waiter is not left behind. */
export class Latch {
  private release!: () => void;
  readonly opened: Promise<void> = new Promise((resolve) => (this.release = resolve));
  isOpen = false;

  open(): void {
    this.isOpen = true;
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
