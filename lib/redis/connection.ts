import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { ClusterConnection, ConnectionOptions } from '../config';

/** A connection to one Redis (plain, or found through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

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
 * Who retries what, on purpose: ioredis only reconnects sockets (and, on a cluster, follows
 * MOVED/ASK redirections and waits out a failover). It never retries or resends a command itself
 * (maxRetriesPerRequest 0, no resend after a reconnect): a command issued or in flight during an
 * outage fails at once, and brokkr's own retry (withRetry, p-retry) decides whether to run it
 * again, which every script allows. A blocking wait that was in flight when Redis restarted
 * therefore fails visibly instead of coming back empty seconds later. Commands and blocking reads
 * never share a connection, so a write never queues behind a wait.
 */
export function createConnection(
  connection: ConnectionOptions,
  role: ConnectionRole,
  name: string,
  settings: ConnectionSettings,
): RedisClient {
  const backoff = (attempt: number) =>
    Math.round(Math.min(settings.retryMaxDelayMs, 50 * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2));
  const perConnection: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.commandTimeoutMs + (role === 'blocking' ? (settings.blockMs ?? 0) : 0),
    // ioredis arms this even for a socket that is already gone, holding the process that long
    disconnectTimeout: 200,
  };
  if (connection instanceof Cluster) {
    return connection.duplicate(undefined, clusterOptions(connection.options, perConnection, backoff));
  }
  if (connection instanceof Redis) {
    return connection.duplicate({ ...perConnection, retryStrategy: backoff, enableOfflineQueue: true });
  }
  if (isClusterConnection(connection)) {
    return new Cluster(connection.cluster, clusterOptions(connection.options ?? {}, perConnection, backoff));
  }
  // commands made while (re)connecting wait for the socket, or fail with it
  const options: RedisOptions = { ...perConnection, retryStrategy: backoff, enableOfflineQueue: true };
  return typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
}

export function isClusterConnection(value: unknown): value is ClusterConnection {
  return typeof value === 'object' && value !== null && Array.isArray((value as { cluster?: unknown }).cluster);
}

function clusterOptions(user: ClusterOptions, perConnection: RedisOptions, backoff: (attempt: number) => number): ClusterOptions {
  return {
    ...user,
    enableOfflineQueue: true,
    clusterRetryStrategy: backoff,
    redisOptions: { ...user.redisOptions, ...perConnection },
  };
}

/**
 * Ends a connection at once; a blocking command in flight rejects rather than holding close() up.
 * Between reconnection attempts there is no socket to close, and ioredis then never emits `end`
 * (it only cancels the next attempt), so the wait for `end` is bounded.
 */
export async function disconnect(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  const between = redis.status === 'reconnecting';
  redis.disconnect(false);
  if (between) return;
  await Promise.race([ended, new Promise((r) => setTimeout(r, 1_000).unref())]);
}
