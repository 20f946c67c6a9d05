/**
 * A one-line progress bar on a terminal, redrawn in place with a carriage return. Off a terminal
 * it draws nothing: a log file has no use for a hundred half-filled bars.
 */
export class ProgressBar {
  private lastDrawAt = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {
    this.enabled = stream.isTTY === true && total > 0;
  }

  /** Redraws at most every 100 ms, and always at the end. */
  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.lastDrawAt < 100) return;
    this.lastDrawAt = now;
    const share = Math.min(1, done / this.total);
    const filled = Math.round(share * this.width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}`;
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    this.stream.write(`\r[${bar}] ${percent} ${done.toLocaleString('en')}/${this.total.toLocaleString('en')} ${this.label}\x1b[K`);
  }

  /** Leaves the line, so what is printed next starts on its own. */
  finish(): void {
    if (this.enabled && this.lastDrawAt > 0) this.stream.write('\n');
  }
}
