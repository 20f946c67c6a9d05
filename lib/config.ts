import { availableParallelism } from 'node:os';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { BackoffStrategy } from './backoff';
import { ValidationError } from './errors';
import type { JobOptions } from './job';
import { redact } from './redact';
import { consoleLogger, type Logger } from './logger';

/**
 * Where Redis is: a URL (`redis://user:pass@host:port/db`, `rediss://` for TLS), ioredis options
 * (TLS settings, or `{ sentinels: [{ host, port }], name }` for Sentinel), `{ cluster: [...] }`
 * for a Redis Cluster, or an ioredis `Redis` or `Cluster` instance, whose settings brokkr copies
 * for connections of its own (the instance itself is left alone).
 */
export type ConnectionOptions = string | RedisOptions | ClusterConnection | Redis | Cluster;

/** A Redis Cluster: some of its nodes to start from, and ioredis cluster options. */
export interface ClusterConnection {
  cluster: ClusterNode[];
  options?: ClusterOptions;
}

/** A handler module: a path (relative paths resolve against the process's working directory) or a file URL. */
export type HandlerModule = string | URL;

/**
 * Either a map from job name to a module whose default export runs that job, or one module whose
 * named exports are the handlers (the export name is the job name).
 */
export type Handlers = Record<string, HandlerModule> | HandlerModule;

export interface QueueOptions {
  /** @default 'redis://127.0.0.1:6379' */
  connection?: ConnectionOptions;
  /** Prefix of every Redis key. @default 'brokkr' */
  prefix?: string;
  /** Largest accepted job data, in bytes of its JSON. @default 1 MiB */
  maxPayloadBytes?: number;
  /** How long enqueue and getJob keep retrying while Redis is unreachable before rejecting with BrokerUnavailableError. @default 10000 */
  brokerWaitMs?: number;
  /**
   * After each enqueue, wait until this many replicas have the jobs (Redis WAIT), so that a
   * failover right after cannot lose them; fewer within `replicaWaitMs` rejects with
   * ReplicationError. 0: do not wait (Redis replicates asynchronously). @default 0
   */
  waitForReplicas?: number;
  /** How long an enqueue waits for `waitForReplicas` replicas. @default 1000 */
  replicaWaitMs?: number;
  /** A Redis command without an answer for this long fails and is retried (a stalled Redis). @default 5000 */
  commandTimeoutMs?: number;
  /** Longest wait between retries and between reconnection attempts. @default 2000 */
  retryMaxDelayMs?: number;
  /** Options every job of this queue gets unless it sets its own (`attempts`, `backoff`, ...). @default {} */
  defaultJobOptions?: JobOptions;
}

export interface SupervisorOptions {
  /** @default 'redis://127.0.0.1:6379' */
  connection?: ConnectionOptions;
  /** Queues to serve, highest priority first. */
  queues: string[];
  handlers: Handlers;
  /** Jobs in flight at once. @default threads */
  concurrency?: number;
  /** Worker threads. @default os.availableParallelism() */
  threads?: number;
  /** Per-job hard limit unless the job sets its own; 0 means none. @default 180000 */
  defaultTimeoutMs?: number;
  /** Time between the job's abort signal and the termination of its thread. @default 1000 */
  timeoutGraceMs?: number;
  /** How long completed records are kept. @default 86400000 (24 h) */
  resultTtlMs?: number;
  /** How long failed records are kept. @default 604800000 (7 days) */
  failedTtlMs?: number;
  /** Most completed records kept per queue, beside their TTL: the oldest beyond it are deleted. Unset: no cap. */
  keepCompleted?: number;
  /** Most failed records kept per queue, beside their TTL. Unset: no cap. */
  keepFailed?: number;
  /** Most log lines (ctx.log) kept per job: the oldest beyond it are dropped. @default 1000 */
  maxLogLines?: number;
  /** @default 'brokkr' */
  prefix?: string;
  /** Lease length; the supervisor renews leases of its jobs every leaseMs / 3. @default 30000 */
  leaseMs?: number;
  /**
   * How often the supervisor renews its entry in the registry (queue.getWorkers()); one that stops
   * renewing drops out after three of these. @default 5000
   */
  heartbeatMs?: number;
  /** How long close() lets jobs in flight finish before it terminates them and puts them back. @default 30000 */
  shutdownGraceMs?: number;
  /** Heap cap per thread (V8 old generation), in MB; unset means none. */
  maxMemoryMb?: number;
  /** Approximate cap on the entries of each queue's event stream. @default 10000 */
  eventsMaxLen?: number;
  /**
   * Largest result or error (bytes of JSON) an event in the queue's stream carries: a larger result
   * is left out of the event (waiters read it from the record), a larger error loses its stack.
   * Bounds the stream at about eventsMaxLen * (eventDataMaxBytes + 300) bytes. @default 2048
   */
  eventDataMaxBytes?: number;
  /** Most jobs taken in one fetch (1 to 1000). @default 256 */
  fetchBatchSize?: number;
  /**
   * Jobs leased ahead of free slots, so a freed slot is refilled without a round trip to Redis.
   * 'auto' prefetches up to `concurrency` jobs while recent jobs take under 20 ms, and none for
   * longer jobs (which would otherwise wait here while other supervisors are idle). @default 'auto'
   */
  prefetch?: number | 'auto';
  /** A job whose lease expires (or whose thread crashes with no known culprit) more often than this ends failed. @default 2 */
  maxStalls?: number;
  /** Largest result stored, in bytes of its JSON; a larger one fails the job. @default 1 MiB */
  maxResultBytes?: number;
  /** Replace a thread after it has run this many jobs; 0 never does. @default 0 */
  recycleAfterJobs?: number;
  /** Threads beyond the first are released after this long without work. @default 60000 */
  threadIdleMs?: number;
  /** On SIGTERM / SIGINT: close() warmly; on a second signal, cold. @default false */
  handleSignals?: boolean;
  /** A Redis command without an answer for this long fails and is retried (a stalled Redis). @default 5000 */
  commandTimeoutMs?: number;
  /** Longest wait between retries of a broker operation and between reconnection attempts; retries go on until close(). @default 2000 */
  retryMaxDelayMs?: number;
  /** Where the supervisor writes what it cannot report as an event. @default console */
  logger?: Logger;
  /** Backoffs a job can name as `{ type: '<name>' }`: (attempt, error) => delay in ms, or -1 to stop retrying. @default {} */
  backoffStrategies?: Record<string, BackoffStrategy>;
}

type Unset = 'maxMemoryMb' | 'keepCompleted' | 'keepFailed';
export type ResolvedSupervisorOptions = Required<Omit<SupervisorOptions, Unset>> & Pick<SupervisorOptions, Unset>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PREFIX = 'brokkr';
/** How long a failed (or canceled) record is kept by default: a week. */
export const DEFAULT_FAILED_TTL_MS = 7 * 24 * 3600_000;
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

type Kind =
  | 'int>=0'
  | 'int>0'
  | 'batch'
  | 'string'
  | 'boolean'
  | 'connection'
  | 'queues'
  | 'handlers'
  | 'logger'
  | 'prefetch'
  | 'object'
  | 'functions';

const SUPERVISOR_FIELDS: Record<keyof SupervisorOptions, Kind> = {
  connection: 'connection',
  queues: 'queues',
  handlers: 'handlers',
  concurrency: 'int>0',
  threads: 'int>0',
  defaultTimeoutMs: 'int>=0',
  timeoutGraceMs: 'int>=0',
  resultTtlMs: 'int>=0',
  failedTtlMs: 'int>=0',
  keepCompleted: 'int>=0',
  keepFailed: 'int>=0',
  maxLogLines: 'int>0',
  prefix: 'string',
  leaseMs: 'int>0',
  heartbeatMs: 'int>0',
  shutdownGraceMs: 'int>=0',
  maxMemoryMb: 'int>0',
  eventsMaxLen: 'int>0',
  eventDataMaxBytes: 'int>0',
  fetchBatchSize: 'batch',
  prefetch: 'prefetch',
  maxStalls: 'int>=0',
  maxResultBytes: 'int>0',
  recycleAfterJobs: 'int>=0',
  threadIdleMs: 'int>0',
  handleSignals: 'boolean',
  commandTimeoutMs: 'int>0',
  retryMaxDelayMs: 'int>0',
  logger: 'logger',
  backoffStrategies: 'functions',
};

const QUEUE_FIELDS: Record<keyof QueueOptions, Kind> = {
  connection: 'connection',
  prefix: 'string',
  maxPayloadBytes: 'int>0',
  brokerWaitMs: 'int>=0',
  waitForReplicas: 'int>=0',
  replicaWaitMs: 'int>0',
  commandTimeoutMs: 'int>0',
  retryMaxDelayMs: 'int>0',
  defaultJobOptions: 'object',
};

export function resolveSupervisorOptions(options: SupervisorOptions): ResolvedSupervisorOptions {
  checkFields('supervisor options', options, SUPERVISOR_FIELDS, ['queues', 'handlers']);
  const threads = options.threads ?? availableParallelism();
  return {
    connection: options.connection ?? DEFAULT_REDIS_URL,
    queues: options.queues,
    handlers: options.handlers,
    concurrency: options.concurrency ?? threads,
    threads,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 180_000,
    timeoutGraceMs: options.timeoutGraceMs ?? 1_000,
    resultTtlMs: options.resultTtlMs ?? 24 * 3600_000,
    failedTtlMs: options.failedTtlMs ?? DEFAULT_FAILED_TTL_MS,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    leaseMs: options.leaseMs ?? 30_000,
    heartbeatMs: options.heartbeatMs ?? 5_000,
    shutdownGraceMs: options.shutdownGraceMs ?? 30_000,
    ...(options.maxMemoryMb !== undefined ? { maxMemoryMb: options.maxMemoryMb } : {}),
    ...(options.keepCompleted !== undefined ? { keepCompleted: options.keepCompleted } : {}),
    ...(options.keepFailed !== undefined ? { keepFailed: options.keepFailed } : {}),
    maxLogLines: options.maxLogLines ?? 1_000,
    eventsMaxLen: options.eventsMaxLen ?? 10_000,
    eventDataMaxBytes: options.eventDataMaxBytes ?? 2048,
    fetchBatchSize: options.fetchBatchSize ?? 256,
    prefetch: options.prefetch ?? 'auto',
    maxStalls: options.maxStalls ?? 2,
    maxResultBytes: options.maxResultBytes ?? 1024 * 1024,
    recycleAfterJobs: options.recycleAfterJobs ?? 0,
    threadIdleMs: options.threadIdleMs ?? 60_000,
    handleSignals: options.handleSignals ?? false,
    commandTimeoutMs: options.commandTimeoutMs ?? 5_000,
    retryMaxDelayMs: options.retryMaxDelayMs ?? 2_000,
    logger: options.logger ?? consoleLogger,
    backoffStrategies: { ...options.backoffStrategies },
  };
}

export function resolveQueueOptions(options: QueueOptions = {}): Required<QueueOptions> {
  checkFields('queue options', options, QUEUE_FIELDS, []);
  return {
    connection: options.connection ?? DEFAULT_REDIS_URL,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    brokerWaitMs: options.brokerWaitMs ?? 10_000,
    waitForReplicas: options.waitForReplicas ?? 0,
    replicaWaitMs: options.replicaWaitMs ?? 1_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 5_000,
    retryMaxDelayMs: options.retryMaxDelayMs ?? 2_000,
    defaultJobOptions: options.defaultJobOptions ?? {},
  };
}

/** Queue names become part of a Redis hash tag, so braces would move the queue to another slot. */
export function checkQueueName(name: unknown, field = 'queue name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[{}\s]/.test(name)) {
    throw new ValidationError(
      `${field} must be a non-empty string of at most 200 characters without braces or spaces, got ${describe(name)}`,
    );
  }
  return name;
}

function checkFields(what: string, options: unknown, fields: Record<string, Kind>, required: string[]): void {
  if (typeof options !== 'object' || options === null) throw new ValidationError(`${what} must be an object`);
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in fields)) throw new ValidationError(`${what}: unknown option "${key}"`);
  }
  for (const key of required) {
    if (record[key] === undefined) throw new ValidationError(`${what}: "${key}" is required`);
  }
  for (const [key, kind] of Object.entries(fields)) {
    const value = record[key];
    if (value === undefined) continue;
    const problem = checkKind(kind, value, key);
    if (problem) throw new ValidationError(`${what}: "${key}" ${problem}, got ${describe(value)}`);
  }
}

function checkKind(kind: Kind, value: unknown, key: string): string | null {
  switch (kind) {
    case 'int>=0':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? null : 'must be an integer >= 0';
    case 'int>0':
      return Number.isSafeInteger(value) && (value as number) > 0 ? null : 'must be an integer > 0';
    case 'batch':
      // Lua's unpack() has a limit of about 8,000 values: batches stay well under it
      return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= 1000 ? null : 'must be an integer from 1 to 1000';
    case 'prefetch':
      return value === 'auto' || (Number.isSafeInteger(value) && (value as number) >= 0) ? null : 'must be "auto" or an integer >= 0';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'string':
      return typeof value === 'string' && value.length > 0 && !/[{}]/.test(value) ? null : 'must be a non-empty string without braces';
    case 'connection':
      if (typeof value === 'string') return /^rediss?:\/\//.test(value) ? null : 'must be a redis:// or rediss:// URL';
      if (typeof value !== 'object' || value === null)
        return 'must be a Redis URL, ioredis options, { cluster: [...] } or an ioredis instance';
      if ('cluster' in value) {
        const nodes = (value as { cluster: unknown }).cluster;
        const ok =
          Array.isArray(nodes) &&
          nodes.length > 0 &&
          nodes.every((n) => typeof n === 'string' || typeof n === 'number' || (typeof n === 'object' && n !== null));
        return ok ? null : 'cluster must be a non-empty array of { host, port } nodes';
      }
      return null;
    case 'logger':
      return typeof value === 'object' &&
        value !== null &&
        typeof (value as Logger).warn === 'function' &&
        typeof (value as Logger).error === 'function'
        ? null
        : 'must have warn and error methods';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? null : 'must be an object';
    case 'functions':
      if (typeof value !== 'object' || value === null) return 'must be an object of functions';
      for (const [name, f] of Object.entries(value)) {
        if (typeof f !== 'function') return `entry "${name}" must be a function`;
      }
      return null;
    case 'queues':
      if (!Array.isArray(value) || value.length === 0) return 'must be a non-empty array of queue names';
      for (const [i, q] of value.entries()) checkQueueName(q, `${key}[${i}]`);
      return new Set(value).size === value.length ? null : 'must not name a queue twice';
    case 'handlers':
      if (isModule(value)) return null;
      if (typeof value !== 'object' || value === null || Object.keys(value).length === 0) {
        return 'must be a module path, a file URL, or a non-empty map from job name to module';
      }
      for (const [name, mod] of Object.entries(value)) {
        if (!isModule(mod)) return `entry "${name}" must be a module path or a file URL`;
      }
      return null;
  }
}

function isModule(v: unknown): v is HandlerModule {
  return (typeof v === 'string' && v.length > 0) || v instanceof URL;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(redact(v));
  if (Array.isArray(v)) return 'an array';
  if (v instanceof URL) return v.href;
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}
