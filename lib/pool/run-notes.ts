import { ValidationError } from '../errors';
import { findUnfaithfulJson } from '../json';
import type { RunNotes } from './protocol';

/** A running job sends its progress and log lines at most this often; calls between are gathered. */
export const RUN_NOTES_GAP_MS = 100;
/** The largest progress value, as JSON, and the longest log line (longer ones are cut). */
const MAX_PROGRESS_BYTES = 16 * 1024;
const MAX_LINE_CHARS = 8 * 1024;

interface Gathered {
  runId: number;
  progress?: string;
  logs: string[];
  lastSent: number;
  timer: NodeJS.Timeout | null;
}

/**
 * The thread side of ctx.progress and ctx.log: nothing waits on a write. The first call of a run
 * is posted at once (a CPU-bound handler's progress shows while it runs); later ones within
 * RUN_NOTES_GAP_MS are gathered, the last progress winning, and posted by a timer or at the next
 * call after the gap. Whatever is left goes out before the run's outcome (flush).
 */
export class RunNotesOut {
  private readonly bySlot = new Map<number, Gathered>();

  constructor(private readonly post: (notes: RunNotes) => void) {}

  progress(slot: number, runId: number, value: unknown): void {
    const problem = findUnfaithfulJson(value, 'progress');
    if (problem) throw new ValidationError(`ctx.progress(value) needs a value that survives JSON: ${problem}`);
    const json = JSON.stringify(value);
    if (Buffer.byteLength(json) > MAX_PROGRESS_BYTES) {
      throw new ValidationError(`ctx.progress(value): the value is over ${MAX_PROGRESS_BYTES} bytes as JSON`);
    }
    this.gather(slot, runId).progress = json;
    this.maybeSend(slot);
  }

  log(slot: number, runId: number, line: unknown): void {
    if (typeof line !== 'string') throw new ValidationError(`ctx.log(line) needs a string, got ${typeof line}`);
    this.gather(slot, runId).logs.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    this.maybeSend(slot);
  }

  /** The run ended: what it gathered goes out now, ahead of its outcome. */
  flush(slot: number): void {
    const g = this.bySlot.get(slot);
    if (!g) return;
    this.bySlot.delete(slot);
    if (g.timer) clearTimeout(g.timer);
    this.send(slot, g);
  }

  private gather(slot: number, runId: number): Gathered {
    let g = this.bySlot.get(slot);
    if (!g || g.runId !== runId) {
      g = { runId, logs: [], lastSent: 0, timer: null };
      this.bySlot.set(slot, g);
    }
    return g;
  }

  private maybeSend(slot: number): void {
    const g = this.bySlot.get(slot)!;
    const wait = g.lastSent + RUN_NOTES_GAP_MS - Date.now();
    if (wait <= 0) {
      if (g.timer) clearTimeout(g.timer);
      g.timer = null;
      this.send(slot, g);
    } else {
      g.timer ??= setTimeout(() => {
        g.timer = null;
        this.send(slot, g);
      }, wait);
    }
  }

  private send(slot: number, g: Gathered): void {
    if (g.progress === undefined && g.logs.length === 0) return;
    const notes: RunNotes = { notes: true, runId: g.runId, slot, logs: g.logs };
    if (g.progress !== undefined) notes.progress = g.progress;
    g.progress = undefined;
    g.logs = [];
    g.lastSent = Date.now();
    this.post(notes);
  }
}
