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
  const options: RedisOptions = { connectionName: name, ...roleOptions };
  return typeof connection === 'string'
    ? new Redis(connection, options)
    : new Redis({ ...connection, ...options });
}

/** Ends a connection at once; a blocking command in flight rejects rather than holding close() up. */
export async function disconnect(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  redis.disconnect(false);
  await ended;
}
