import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors';

/**
 * What crosses the thread boundary. A thread lives in one piscina task, a session, that lasts
 * as long as the thread serves jobs; the session's MessagePort carries the messages:
 *
 *   thread -> main   Hello          once, when the handler modules have loaded (or failed to)
 *   thread -> main   Report         outcomes of finished jobs, and how many more jobs it can take now
 *   thread -> main   RunNotes       progress and log lines of a running job, at most one per RUN_NOTES_GAP_MS
 *   main -> thread   Batch          jobs to run, never more than the last Report asked for
 *   main -> thread   Poke           its cap or queue depth changed: report again
 *   main -> thread   CancelRun      a running job was canceled: abort its signal
 *
 * A thread runs at most its cap of jobs at once (the caps of all threads add up to the
 * supervisor's concurrency) and keeps a short queue of jobs to start next, so a finished job is
 * followed by the next one without a round trip to the main thread. It asks only when its event
 * loop turns (reports go out from setImmediate), so a thread whose loop is blocked by a handler
 * asks for nothing; the jobs it holds but has not started can be taken back (`claim` below) and
 * given to a thread that asks.
 */

/** Given to every thread once, in piscina's workerData. */
export interface ThreadData {
  /** job name -> module href, or one module href whose named exports are the handlers */
  handlers: Record<string, string> | string;
  /**
   * Per run slot: the id of the thread that started the handler (0: not started yet). Shared
   * memory, so a thread reports a start with one store instead of a message per job.
   */
  startedOn: SharedArrayBuffer;
  /** Per run slot: when the handler started (ms since the epoch). */
  startedAt: SharedArrayBuffer;
  /** Per run slot: 0, or 1 + the exit code when the run's handler called process.exit(). */
  exitedBy: SharedArrayBuffer;
  /**
   * Per run slot: the run id of the job waiting in some thread's queue, or STARTED, or 0. A
   * thread starts a job only by swapping the run id it was sent for STARTED; the main thread takes
   * a job back by swapping it for a new run id (or 0), which fails once the job has started and
   * leaves the old copy in the first thread's queue unable to start, even if the slot is reused.
   */
  claim: SharedArrayBuffer;
  /** Per seat (a thread's place in the pool): how many jobs it may run at once. */
  caps: SharedArrayBuffer;
  /** Per seat: how many jobs it may hold beyond its cap, queued to start next. */
  depths: SharedArrayBuffer;
  /** Largest result stored, as JSON bytes. */
  maxResultBytes: number;
}

/** The piscina task of a session: it resolves when the session ends. */
export interface SessionTask {
  port: MessagePort;
  /** this thread's index in `caps` and `depths` */
  seat: number;
}

/** `claim` value of a job whose handler a thread has started. */
export const STARTED = -1;

/** One job to run. */
export interface RunTask {
  /** unique per run, so that a late reply can never settle a later run in the same slot */
  runId: number;
  slot: number;
  id: string;
  queue: string;
  name: string;
  /** JSON text */
  data: string;
  attempt: number;
  /** 0: no limit */
  timeoutMs: number;
  /** JSON array of the outcomes of the jobs it depended on ('' : none) */
  dependencies: string;
}

export type Hello = { hello: true; threadId: number; names: string[] } | { hello: true; threadId: number; error: SerializedError };

export type OutcomeItems = [runId: number, slot: number, reply: RunReply][];

export interface Report {
  /** the sequence number of the last Batch the thread had received when it wrote this */
  seen: number;
  /** how many more jobs it can take now, to run or to queue */
  want: number;
  /** how many more it could start at once (its cap less what it runs) */
  idle: number;
  outcomes: OutcomeItems;
}

export interface Batch {
  seq: number;
  jobs: RunTask[];
}

/** Its cap or queue depth changed: the thread reports again, saying what it can take now. */
export interface Poke {
  poke: true;
}

/** Progress and log lines of a running job (ctx.progress, ctx.log), gathered over a moment. */
export interface RunNotes {
  notes: true;
  runId: number;
  slot: number;
  /** JSON of the last progress value, when there was one */
  progress?: string;
  logs: string[];
}

/** The job of this run was canceled (queue.cancel): its ctx.signal is aborted with a JobCanceledError. */
export interface CancelRun {
  cancel: true;
  slot: number;
  runId: number;
  reason: string;
}

/*
 * Batches and reports, the messages of every job, travel as one JSON string each: a string
 * crosses a MessagePort faster than an object graph (measured here: 48 vs 67 µs a round trip for
 * four jobs), and JSON.stringify/parse run as native code on either side.
 */

const TASK_WIDTH = 9;
const OUTCOME_WIDTH = 4;
const REPLY_KINDS = ['completed', 'failed', 'timeout', 'rate-limited'] as const;

export function encodeBatch(batch: Batch): string {
  const flat: unknown[] = [batch.seq];
  for (const t of batch.jobs) flat.push(t.runId, t.slot, t.id, t.queue, t.name, t.data, t.attempt, t.timeoutMs, t.dependencies);
  return JSON.stringify(flat);
}

export function decodeBatch(text: string): Batch {
  const flat = JSON.parse(text) as (string | number)[];
  const jobs: RunTask[] = [];
  for (let i = 1; i < flat.length; i += TASK_WIDTH) {
    jobs.push({
      runId: flat[i] as number,
      slot: flat[i + 1] as number,
      id: flat[i + 2] as string,
      queue: flat[i + 3] as string,
      name: flat[i + 4] as string,
      data: flat[i + 5] as string,
      attempt: flat[i + 6] as number,
      timeoutMs: flat[i + 7] as number,
      dependencies: flat[i + 8] as string,
    });
  }
  return { seq: flat[0] as number, jobs };
}

export function encodeReport(report: Report): string {
  const flat: unknown[] = [report.seen, report.want, report.idle];
  for (const [runId, slot, reply] of report.outcomes) {
    const kind = REPLY_KINDS.indexOf(reply.kind);
    flat.push(runId, slot, kind, replyPayload(reply));
  }
  return JSON.stringify(flat);
}

function replyPayload(reply: RunReply): unknown {
  if (reply.kind === 'completed') return reply.result;
  if (reply.kind === 'failed') return reply.error;
  return reply.kind === 'rate-limited' ? reply.holdMs : null;
}

export function decodeReport(text: string): Report {
  const flat = JSON.parse(text) as unknown[];
  const outcomes: OutcomeItems = [];
  for (let i = 3; i < flat.length; i += OUTCOME_WIDTH) {
    const kind = REPLY_KINDS[flat[i + 2] as number];
    const payload = flat[i + 3];
    const reply: RunReply =
      kind === 'completed'
        ? { kind, result: payload as string }
        : kind === 'failed'
          ? { kind, error: payload as SerializedError }
          : kind === 'rate-limited'
            ? { kind, holdMs: payload as number }
            : { kind: 'timeout' };
    outcomes.push([flat[i] as number, flat[i + 1] as number, reply]);
  }
  return { seen: flat[0] as number, want: flat[1] as number, idle: flat[2] as number, outcomes };
}

/** Messages from a thread: the hello, or a report encoded as a string. */
export type FromThread = Hello | string | RunNotes;
/** Messages to a thread: a batch encoded as a string, or a poke. */
export type ToThread = string | Poke | CancelRun;

export type RunReply =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  /** the handler saw its abort signal fire at the timeout and returned or threw */
  | { kind: 'timeout' }
  /** the handler called ctx.rateLimit(holdMs) */
  | { kind: 'rate-limited'; holdMs: number };
