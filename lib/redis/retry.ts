import pRetry from 'p-retry';

/**
 * Errors that mean "Redis could not be reached or did not answer", after which the same
 * operation may succeed later. Every brokkr script is safe to run twice, so such an operation
 * is retried; anything else (a script error, a bug) is not.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string } | null;
  if (!e) return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (
    e.code &&
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(e.code)
  )
    return true;
  const message = e.message ?? '';
  return /Connection is closed|Stream isn't writeable|Command timed out|^LOADING|^BUSY|^TRYAGAIN|^CLUSTERDOWN|^MASTERDOWN|READONLY|connect E\w+|Connection ended/i.test(
    message,
  );
}

export interface RetryOptions {
  /** Longest wait between attempts. */
  maxDelayMs: number;
  /** Stops retrying when it fires (close()). */
  signal?: AbortSignal;
  /** Gives up after this long; unset: retries until `signal` fires. */
  maxElapsedMs?: number;
}

/**
 * Runs a broker operation, retrying transient failures with exponential backoff and jitter. The
 * first attempt runs directly: p-retry's set-up costs more than a fast Redis call.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (!isTransient(err) || options.signal?.aborted) throw err;
  }
  return pRetry(operation, {
    retries: Number.POSITIVE_INFINITY,
    factor: 2,
    minTimeout: Math.min(50, options.maxDelayMs),
    maxTimeout: options.maxDelayMs,
    randomize: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxElapsedMs !== undefined ? { maxRetryTime: options.maxElapsedMs } : {}),
    shouldRetry: ({ error }) => isTransient(error),
  });
}
