import pRetry from 'p-retry';
import { ErrorCodes } from './errors';

/** A broker operation that failed this way may succeed when run again: every write is idempotent. */
export function isRetryable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === ErrorCodes.BROKER_UNAVAILABLE;
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
 * Runs a broker operation, retrying BrokerUnavailableError with exponential backoff and jitter.
 * The first attempt runs directly: p-retry's set-up costs more than a fast Redis call.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (!isRetryable(err) || options.signal?.aborted) throw err;
  }
  return pRetry(operation, {
    retries: Number.POSITIVE_INFINITY,
    factor: 2,
    minTimeout: Math.min(50, options.maxDelayMs),
    maxTimeout: options.maxDelayMs,
    randomize: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxElapsedMs !== undefined ? { maxRetryTime: options.maxElapsedMs } : {}),
    shouldRetry: ({ error }) => isRetryable(error),
  });
}
