import { Redis } from 'ioredis';
import { type ConnectionOptions, DEFAULT_PREFIX, DEFAULT_REDIS_URL } from '../config';
import { redact } from '../redact';
import { CommandFailedError, UsageError } from './errors';

/** How long the CLI waits for Redis to answer its first PING before it reports it unreachable. */
export const PROBE_TIMEOUT_MS = 3_000;

/** Where the CLI talks to: the connection to hand to Queue and Supervisor, and how to name it to the user. */
export interface Target {
  connection: ConnectionOptions;
  /** the URL with its password replaced by *** */
  display: string;
  prefix: string;
  cluster: boolean;
}

export interface TargetFlags {
  redis?: string;
  cluster?: boolean;
  prefix?: string;
}

/** Flags win over the environment (REDIS_URL, BROKKR_PREFIX), which wins over the defaults. */
export function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Target {
  // commander already applies the environment and defaults; these keep the function whole on its own
  const url = flags.redis || env.REDIS_URL || DEFAULT_REDIS_URL;
  const prefix = flags.prefix || env.BROKKR_PREFIX || DEFAULT_PREFIX;
  if (prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new UsageError(`the prefix must be a non-empty string without braces, got ${JSON.stringify(prefix)}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`the Redis URL must look like redis://[user:password@]host[:port][/db], got ${JSON.stringify(redact(url))}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`the Redis URL must start with redis:// or rediss://, got ${JSON.stringify(redact(url))}`);
  }
  const display = redact(url);
  if (!flags.cluster) return { connection: url, display, prefix, cluster: false };
  return { connection: clusterFromUrl(parsed), display: `${display} (cluster)`, prefix, cluster: true };
}

/**
 * A cluster is reached through one seed node; ioredis finds the others from it. The URL's
 * credentials and TLS apply to every node.
 */
function clusterFromUrl(url: URL): ConnectionOptions {
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') throw new UsageError(`a Redis Cluster has only database 0, but the URL selects database ${db}`);
  const redisOptions: Record<string, unknown> = {};
  if (url.username) redisOptions.username = decodeURIComponent(url.username);
  if (url.password) redisOptions.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') redisOptions.tls = { servername: url.hostname };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { cluster: [{ host, port: Number(url.port || 6379) }], options: { redisOptions } };
}

/**
 * Checks that Redis answers before a command starts. Queue and Supervisor retry an unreachable
 * Redis on purpose (for brokerWaitMs, or forever), which is right for a service and wrong for a
 * person typing a command: this one-shot connection never retries, so a wrong address is reported
 * within PROBE_TIMEOUT_MS, with the reason the socket gave. A cluster is probed through its seed
 * node as a plain connection (an ioredis Cluster only says "None of startup nodes is available"),
 * which must also say that the cluster is up.
 */
export async function probe(target: Target, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  const oneShot = { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null };
  const connectionName = `${target.prefix}:cli:probe`;
  let client: Redis;
  if (typeof target.connection === 'string') {
    client = new Redis(target.connection, { ...oneShot, connectionName });
  } else {
    const { cluster, options } = target.connection as { cluster: { host: string; port: number }[]; options: { redisOptions: object } };
    client = new Redis({ ...options.redisOptions, ...cluster[0]!, ...oneShot, connectionName });
  }
  let socketError: Error | null = null;
  client.on('error', (err: Error) => {
    socketError = err;
  });
  let timer: NodeJS.Timeout | undefined;
  let clusterInfo: string | Error | null;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const check = async (): Promise<string | Error | null> => {
      await client.connect();
      await client.ping();
      // a refusal here is not a reachability problem: it is reported on its own below
      return target.cluster ? client.cluster('INFO').then(String, (err: Error) => err) : null;
    };
    clusterInfo = await Promise.race([check(), deadline]);
  } catch (err) {
    throw new CommandFailedError(`cannot reach Redis at ${target.display} (${reason(socketError, err)})`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
  if (clusterInfo instanceof Error) {
    throw new CommandFailedError(`Redis at ${target.display} is not a cluster node (${redact(clusterInfo.message)})`);
  }
  const state = clusterInfo === null ? 'ok' : (/cluster_state:(\w+)/.exec(clusterInfo)?.[1] ?? 'unknown');
  if (state !== 'ok') throw new CommandFailedError(`the Redis Cluster at ${target.display} is not serving (cluster_state:${state})`);
}

/** The most telling of what went wrong: the socket's error says ECONNREFUSED where the command only says "closed". */
function reason(socketError: Error | null, err: unknown): string {
  const messages = [err, socketError]
    .map((e) => (e instanceof Error ? e.message : ''))
    .filter((m) => m && !/^Connection is closed/.test(m));
  const text = messages[0] ?? (err instanceof Error ? err.message : String(err));
  return redact(text.replace(/\s*\n\s*/g, ' '));
}
