import type { SerializedError } from '../errors';

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

/** One job to run; several travel to a thread in one BatchTask message. */
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

/** Loads every handler module; answers the job names they provide. */
export interface ProbeTask {
  kind: 'probe';
}

/**
 * Jobs sent to one thread in one message (the thread hop costs per message, not per job). The
 * thread starts them all at once and reports each outcome as soon as it has it, in an
 * OutcomeMessage; the task itself resolves, with the outcomes not yet sent, when the last one is done.
 */
export interface BatchTask {
  kind: 'batch';
  jobs: RunTask[];
}

export type Task = BatchTask | ProbeTask;

/** Marks brokkr's messages among whatever else a handler might post on parentPort. */
export const OUTCOME_TAG = '__brokkrOutcomes';

export type OutcomeItems = [runId: number, slot: number, reply: RunReply][];

/** Posted by a thread on parentPort: outcomes that were ready in the same turn of its event loop. */
export interface OutcomeMessage {
  [OUTCOME_TAG]: OutcomeItems;
}

export type RunReply =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  /** the handler saw its abort signal fire at the timeout and returned or threw */
  | { kind: 'timeout' };

export type ProbeReply = { ok: true; names: string[] } | { ok: false; error: SerializedError };
