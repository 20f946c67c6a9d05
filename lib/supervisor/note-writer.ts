import type { Broker } from '../broker';
import { isRetryable } from '../retry';
import type { HeldRun } from './runs';

/** Progress and log lines gathered from threads are written this often (one script call per queue). */
export const NOTES_FLUSH_MS = 200;
/** Most log lines held per job while Redis is away; older ones are dropped first. */
const MAX_HELD_LINES = 1_000;

interface Gathered {
  run: HeldRun;
  progress?: string;
  logs: string[];
}

export interface NoteWriterHooks {
  /** a run's progress was written: its event may go out */
  progressed(run: HeldRun, progress: unknown): void;
  error(err: unknown): void;
}

/**
 * Writes what running jobs report (ctx.progress, ctx.log) in batches: whatever arrived within
 * NOTES_FLUSH_MS goes out in one script call per queue, the last progress of each job winning,
 * so a handler that reports thousands of times a second costs a few writes. Each note carries
 * its run's lease token: once the run has lost the job, nothing it says is written. Notes of a
 * moment when Redis is away are kept (bounded) and written when it is back.
 */
export class NoteWriter {
  private pending = new Map<string, Map<HeldRun, Gathered>>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly hooks: NoteWriterHooks,
  ) {}

  add(run: HeldRun, progress: string | undefined, logs: string[]): void {
    let byRun = this.pending.get(run.queue);
    if (!byRun) {
      byRun = new Map();
      this.pending.set(run.queue, byRun);
    }
    const g = byRun.get(run) ?? { run, logs: [] };
    byRun.set(run, g);
    if (progress !== undefined) g.progress = progress;
    g.logs.push(...logs);
    if (g.logs.length > MAX_HELD_LINES) g.logs.splice(0, g.logs.length - MAX_HELD_LINES);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, NOTES_FLUSH_MS);
  }

  /** Writes what is pending now (close() calls it once more before the broker goes). */
  flush(): Promise<void> {
    this.writing ??= this.writeAll().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async writeAll(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    for (const [queue, byRun] of batch) {
      const gathered = [...byRun.values()];
      try {
        const notes = gathered.map(({ run, progress, logs }) => ({
          id: run.id,
          token: run.token,
          logs,
          ...(progress === undefined ? {} : { progress }),
        }));
        const written = await this.broker.writeNotes(queue, notes);
        written.forEach((ok, i) => {
          const { run, progress } = gathered[i]!;
          if (ok && progress !== undefined) this.hooks.progressed(run, JSON.parse(progress));
        });
      } catch (err) {
        if (!isRetryable(err)) {
          this.hooks.error(err);
          continue;
        }
        // Redis is away: keep them, before anything that came meanwhile, for the next flush
        for (const g of gathered) {
          const newer = this.pending.get(queue)?.get(g.run);
          this.add(g.run, newer?.progress ?? g.progress, newer ? [] : g.logs);
          if (newer) newer.logs = [...g.logs, ...newer.logs].slice(-MAX_HELD_LINES);
        }
      }
    }
  }
}
