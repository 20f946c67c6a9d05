import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from '../config';

export type ConnectionRole = 'command' | 'blocking';

export interface ConnectionSettings {
  /** a command without an answer for this long fails (how a stalled Redis is noticed) */
  commandTimeoutMs: number;
  /** cap of the delay between reconnection attempts */
  retryMaxDelayMs: number;
  /** blocking connections: the longest block their commands ask for */
  blockMs?: number;
}

/**
 * Who retries what, on purpose: ioredis only reconnects sockets. It never retries or resends a
 * command itself (maxRetriesPerRequest 0, no resend after a reconnect): a command issued or in
 * flight during an outage fails at once, and brokkr's own retry (withRetry, p-retry) decides
 * whether to run it again, which every script allows. A blocking wait that was in flight when
 * Redis restarted therefore fails visibly instead of coming back empty seconds later.
 * Commands and blocking reads never share a connection, so a write never queues behind a wait.
 */
export function createConnection(connection: ConnectionOptions, role: ConnectionRole, name: string, settings: ConnectionSettings): Redis {
  const options: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: true, // commands made while (re)connecting wait for the socket, or fail with it
    commandTimeout: settings.commandTimeoutMs + (role === 'blocking' ? (settings.blockMs ?? 0) : 0),
    retryStrategy: (attempt) => Math.round(Math.min(settings.retryMaxDelayMs, 50 * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2)),
    // ioredis arms this even for a socket that is already gone, holding the process that long
    disconnectTimeout: 200,
  };
  return typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
}

/**
 * Ends a connection at once; a blocking command in flight rejects rather than holding close() up.
 * Between reconnection attempts there is no socket to close, and ioredis then never emits `end`
 * (it only cancels the next attempt), so the wait for `end` is bounded.
 */
export async function disconnect(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  const between = redis.status === 'reconnecting';
  redis.disconnect(false);
  if (between) return;
  await Promise.race([ended, new Promise((r) => setTimeout(r, 1_000).unref())]);
}
