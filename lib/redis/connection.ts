import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from '../config';

export type ConnectionRole = 'command' | 'blocking';

/**
 * Commands and blocking reads never share a connection, so a write never queues behind a
 * blocking wait. A blocking connection does not retry its command on its own: the caller's loop
 * notices the failure and waits again, instead of ioredis silently resending a stale wait.
 */
export function createConnection(connection: ConnectionOptions, role: ConnectionRole, name: string): Redis {
  const roleOptions: RedisOptions = role === 'blocking'
    ? { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, enableOfflineQueue: true }
    : { maxRetriesPerRequest: 3 };
  // disconnectTimeout: ioredis arms it even for a socket that is already gone, holding the process that long
  const options: RedisOptions = { connectionName: name, disconnectTimeout: 200, ...roleOptions };
  return typeof connection === 'string'
    ? new Redis(connection, options)
    : new Redis({ ...connection, ...options });
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
