import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors';

/**
 * The messages that cross the thread boundary. A thread lives in one piscina task, a session,
 * that lasts as long as the thread serves jobs; the session's MessagePort carries everything:
 *
 *   thread -> main   Hello          once, when the handler modules have loaded (or failed to)
 *   thread -> main   Report         outcomes of finished jobs, and how many more jobs it can start now
 *   main -> thread   Batch          jobs to start, never more than the last Report asked for
 *   main -> thread   End            the session is over
 *
 * A thread asks only when its event loop turns (reports go out from setImmediate), so a thread
 * whose loop is blocked by a handler asks for nothing and is sent nothing more.
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
  /** Largest result stored, as JSON bytes. */
  maxResultBytes: number;
}

/** The piscina task of a session: it resolves when the session ends. */
export interface SessionTask {
  port: MessagePort;
  /** most jobs this thread runs at once */
  capacity: number;
}

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
}

export type Hello = { hello: true; threadId: number; names: string[] } | { hello: true; threadId: number; error: SerializedError };

export type OutcomeItems = [runId: number, slot: number, reply: RunReply][];

export interface Report {
  /** the sequence number of the last Batch the thread had received when it wrote this */
  seen: number;
  /** how many more jobs it can start now */
  want: number;
  outcomes: OutcomeItems;
}

export interface Batch {
  seq: number;
  jobs: RunTask[];
}

export interface End {
  end: true;
}

export type FromThread = Hello | Report;
export type ToThread = Batch | End;

export type RunReply =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  /** the handler saw its abort signal fire at the timeout and returned or threw */
  | { kind: 'timeout' };
