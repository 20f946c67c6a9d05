import { ErrorCodes, type SerializedError } from '../errors';
import type { RequeueReason } from '../events';

/**
 * What became of a run; the pool never rejects. A `counted` requeue is charged against the job's
 * maxStalls: it was on a crashed thread that no job could be blamed for.
 */
export type PoolOutcome =
  | { kind: 'completed'; result: string }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'requeue'; reason: RequeueReason; counted: boolean }
  | { kind: 'rate-limited'; holdMs: number }
  /** its job was canceled and the run did not stop within the grace: its thread was ended */
  | { kind: 'canceled' };

/** How a run ended when its thread ended first. */
export type Fate = Exclude<PoolOutcome, { kind: 'completed' | 'rate-limited' }>;

export interface OnDeadThread {
  /** the handler had started (a job sent but not started cannot be the cause) */
  started: boolean;
  /** 0, or 1 + the exit code when its handler called process.exit() */
  exitedWith: number;
  /** already decided (the pool ended the thread on purpose) */
  fate: Fate | null;
}

/**
 * A thread died that the pool did not end. A run that called process.exit() is to blame, and so
 * is a started run that was alone on the thread (out of memory, say). Runs merely sharing the
 * thread with a culprit, and runs that had not started, go back free; with no culprit among
 * several started runs, each goes back counted against maxStalls.
 */
export function judgeThreadDeath(runs: OnDeadThread[], err: unknown): Fate[] {
  const candidates = runs.filter((r) => r.fate === null && r.started);
  const culprits = candidates.filter((r) => r.exitedWith !== 0);
  return runs.map((r): Fate => {
    if (r.fate) return r.fate;
    if (!r.started) return { kind: 'requeue', reason: 'thread-crashed', counted: false };
    if (r.exitedWith !== 0) {
      const code = r.exitedWith - 1;
      return {
        kind: 'failed',
        error: {
          name: 'ThreadCrashedError',
          message: `the handler called process.exit(${code}), which ended its thread`,
          code: ErrorCodes.THREAD_CRASHED,
        },
      };
    }
    if (culprits.length > 0) return { kind: 'requeue', reason: 'thread-crashed', counted: false };
    if (candidates.length === 1) return { kind: 'failed', error: crashError(err) };
    return { kind: 'requeue', reason: 'thread-crashed', counted: true };
  });
}

function crashError(err: unknown): SerializedError {
  const e = err as { message?: string; code?: string } | null;
  const outOfMemory = e?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  return {
    name: 'ThreadCrashedError',
    message: outOfMemory
      ? `the thread running this job ran out of memory (maxMemoryMb): ${e?.message ?? ''}`.trim()
      : `the thread running this job died: ${e?.message ?? String(err)}`,
    code: outOfMemory ? 'ERR_WORKER_OUT_OF_MEMORY' : ErrorCodes.THREAD_CRASHED,
  };
}
