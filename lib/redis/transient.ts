/**
 * Errors that mean "Redis could not be reached, did not answer, or cannot take the write right
 * now", after which the same operation may succeed later. The broker turns them into
 * BrokerUnavailableError (retried: every brokkr script is safe to run twice); anything else (a
 * script error, a damaged key) becomes BrokerError and is not retried.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string } | null;
  if (!e) return false;
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ClusterAllFailedError') return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  return TRANSIENT_MESSAGE.test(e.message ?? '');
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

// OOM: Redis at maxmemory refuses writes until memory frees up (results expire): wait, lose nothing.
// The cluster ones: a failover or a slot migration under way, or every seed node unreachable.
const TRANSIENT_MESSAGE =
  /Connection is closed|Stream isn't writeable|Command timed out|^LOADING|^BUSY|^TRYAGAIN|^CLUSTERDOWN|^MASTERDOWN|READONLY|^OOM|connect E\w+|Connection ended|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|^MOVED|^ASK|Command aborted due to connection close/i;

/**
 * A cluster client holds commands in its own queue until it knows the slots, and ioredis's
 * commandTimeout only starts once a command reaches a node: with every node away, or a login
 * refused, a command would wait forever. This gives it the same limit a single Redis has.
 */
export function withinDeadline<T>(pending: Promise<T>, limitMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Command timed out: no cluster node answered within ${limitMs} ms`)), limitMs);
  });
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}
