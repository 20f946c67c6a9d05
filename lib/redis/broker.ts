import type {
  Broker,
  DurabilitySettings,
  DependencyLink,
  EnqueueOutcome,
  HandoffItem,
  NoteWrite,
  EventCursor,
  JobOutcome,
  LeaseRequest,
  NewJob,
  RetryOutcome,
  Run,
  ScheduleJob,
  TurnResult,
  Write,
  WritePolicy,
} from '../broker';
import { Cluster } from 'ioredis';
import type { FlowChanges, FlowSettings } from '../flow';
import { FlowStore } from './flow-store';
import { DependencyStore } from './dependency-store';
import { enqueueJobs } from './enqueue';
import { cursorReached, decodeXread, readDurabilitySettings } from './event-stream';
import { ObservabilityStore } from './observe';
import { JobNotesStore } from './job-notes';
import type { ConnectionOptions } from '../config';
import { BrokerError, BrokerUnavailableError, BrokkrError } from '../errors';
import type { StreamEvent } from '../event-codec';
import { BrokerHealth } from '../health';
import { uuidv7 } from '../id';
import type { JobCounts, JobInfo } from '../job';
import type { ScheduleInfo, ScheduleState } from '../schedule';
import { isJobStatus, type JobStatus, type ListedStatus } from '../states';
import { type ConnectionSettings, createConnection, disconnect, type RedisClient } from './connection';
import { type QueueKeys, queueKeys } from './keys';
import { redact, scrubSecrets } from '../redact';
import { permissionError } from './permissions';
import { jobFromHash, outcomeFromFields, storedOptionFields } from './records';
import { Registries } from './registries';
import { ScheduleStore } from './schedules';
import { decodeTurn } from './replies';
import { turnArguments } from './script-args';
import { defineScripts, type WithScripts } from './scripts';
import { isTransient, withinDeadline } from './transient';

export interface RedisBrokerOptions extends ConnectionSettings {
  connection: ConnectionOptions;
  prefix: string;
  /** what its connections call themselves (CLIENT SETNAME) */
  clientName: string;
  /** for supervisors: how writes treat events and stalls */
  policy?: WritePolicy;
  /** for supervisors: its id, which names the key its own waits can be ended through */
  waiterId?: string;
}

/**
 * How long a blocking wait lasts (an idle supervisor's wait for work, a reader's wait for events)
 * before it is renewed; the blocking connections' command timeout adds it.
 */
export const BLOCK_LIMIT_MS = 10_000;

/** How long close() waits for Redis to answer QUIT before it just disconnects. */
const QUIT_WAIT_MS = 500;
/** lets ioredis's own timeout, which names the command, win where it applies */
const DEADLINE_MARGIN_MS = 100;

const DEFAULT_POLICY: WritePolicy = { eventsMaxLen: 10_000, eventDataMaxBytes: 2048, maxStalls: 2 };

/**
 * The Broker on Redis: the only code that talks to Redis. Every change of more than one key is
 * one Lua script; this class builds the arguments and hands the replies to replies.ts. One
 * command connection, plus one blocking connection per purpose and queue, made on first use.
 */
export class RedisBroker implements Broker {
  readonly health = new BrokerHealth();
  readonly maxBlockMs = BLOCK_LIMIT_MS;
  private readonly redis: WithScripts<RedisClient>;
  private readonly blocking = new Map<string, WithScripts<RedisClient>>();
  private readonly keysByQueue = new Map<string, QueueKeys>();
  private readonly policy: WritePolicy;
  /** waits for work in flight, per queue */
  private readonly waiting = new Map<string, Promise<unknown>>();
  private readonly registries: Registries;
  private readonly schedules: ScheduleStore;
  private readonly flow: FlowStore;
  private readonly notes: JobNotesStore;
  private readonly deps: DependencyStore;
  readonly observe: ObservabilityStore;
  private closing = false;
  private lastSocketError: string | null = null;

  constructor(private readonly options: RedisBrokerOptions) {
    this.policy = options.policy ?? DEFAULT_POLICY;
    this.redis = defineScripts(createConnection(options.connection, 'command', options.clientName, options));
    this.watch(this.redis);
    this.registries = new Registries(this.redis, (operation) => this.call(operation));
    this.schedules = new ScheduleStore(this.redis, (operation) => this.call(operation));
    this.flow = new FlowStore(this.redis, (operation) => this.call(operation), this.policy.eventsMaxLen);
    this.notes = new JobNotesStore(this.redis, (operation) => this.call(operation));
    this.deps = new DependencyStore(this.redis, (operation) => this.call(operation), this.policy);
    this.observe = new ObservabilityStore(
      this.redis,
      (operation) => this.call(operation),
      options.prefix,
      (queue) => this.keys(queue),
    );
  }

  keys(queue: string): QueueKeys {
    let keys = this.keysByQueue.get(queue);
    if (!keys) {
      keys = queueKeys(this.options.prefix, queue);
      this.keysByQueue.set(queue, keys);
    }
    return keys;
  }

  enqueue(
    queue: string,
    jobs: NewJob[],
    durability?: { replicas: number; timeoutMs: number },
    callToken: string = uuidv7(),
  ): Promise<{ standing: EnqueueOutcome[]; replicas: number }> {
    return enqueueJobs(this.redis, this.keys(queue), queue, this.policy, jobs, durability, callToken, (operation, blockMs) =>
      this.call(operation, blockMs),
    );
  }

  turn(queue: string, writes: Write[], lease: LeaseRequest | null): Promise<TurnResult> {
    const [keys, args] = turnArguments(this.keys(queue), queue, this.policy, writes, lease);
    return this.call(async () => decodeTurn(await this.redis.brokkrTurn(keys.length, ...keys, ...args)));
  }

  /**
   * BZPOPMIN on the marker, and the turn script sent right behind it on the same connection: Redis
   * runs the script the moment the wait ends, so a woken supervisor gets its jobs already leased,
   * one round trip after the enqueue that woke it.
   */
  waitForWork(queue: string, lease: LeaseRequest | null, maxWaitMs: number): Promise<TurnResult> {
    const conn = this.blockingConnection(`work:${queue}`);
    const k = this.keys(queue);
    const [keys, args] = turnArguments(k, queue, this.policy, [], lease);
    const result = this.call(async () => {
      const woke = conn.bzpopmin(k.marker, k.wake(this.waiterId()), Math.max(1, maxWaitMs) / 1000);
      const turned = conn.brokkrTurn(keys.length, ...keys, ...args);
      const [popped, reply] = await Promise.all([woke, turned]);
      return { ...decodeTurn(reply), woken: popped?.[0] === k.marker };
    }, maxWaitMs);
    const settled = result.catch(() => undefined);
    this.waiting.set(queue, settled);
    void settled.finally(() => {
      if (this.waiting.get(queue) === settled) this.waiting.delete(queue);
    });
    return result;
  }

  async endWaits(): Promise<void> {
    const pending = [...this.waiting];
    if (pending.length === 0) return;
    const ttl = BLOCK_LIMIT_MS + this.options.commandTimeoutMs;
    try {
      await Promise.all(pending.map(([queue]) => this.call(() => this.redis.brokkrWake(1, this.keys(queue).wake(this.waiterId()), ttl))));
    } catch {
      // Redis unreachable: the waits fail on their own, or are cut off below
    }
    const ended = Promise.all(pending.map(([, wait]) => wait));
    await Promise.race([ended, new Promise((r) => setTimeout(r, this.options.commandTimeoutMs).unref())]);
  }

  async endWait(queue: string): Promise<void> {
    const ttl = BLOCK_LIMIT_MS + this.options.commandTimeoutMs;
    await this.call(() => this.redis.brokkrWake(1, this.keys(queue).wake(this.waiterId()), ttl));
  }

  async renew(queue: string, runs: Run[], leaseMs: number): Promise<string[]> {
    const k = this.keys(queue);
    const keys = [k.active, ...runs.map((r) => k.job(r.id))];
    const args: (string | number)[] = [leaseMs];
    for (const r of runs) args.push(r.id, r.token);
    return (await this.call(() => this.redis.brokkrRenew(keys.length, ...keys, ...args))) as string[];
  }

  async expired(queue: string, limit: number, trimRegistries: boolean): Promise<Run[]> {
    const k = this.keys(queue);
    const trim = trimRegistries ? 1 : 0;
    const reply = (await this.call(() =>
      this.redis.brokkrExpired(5, k.active, k.completed, k.failed, k.guard, k.canceled, limit, k.jobPrefix, trim),
    )) as string[];
    const runs: Run[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) runs.push({ id: reply[i]!, token: reply[i + 1]! });
    return runs;
  }

  async getJob<D, R>(queue: string, id: string): Promise<JobInfo<D, R> | null> {
    const hash = await this.call(() => this.redis.hgetall(this.keys(queue).job(id)));
    return Object.keys(hash).length === 0 ? null : jobFromHash<D, R>(queue, id, hash);
  }

  getJobs<D, R>(queue: string, status: ListedStatus, offset: number, limit: number): Promise<JobInfo<D, R>[]> {
    return this.registries.getJobs<D, R>(queue, this.keys(queue), status, offset, limit);
  }

  getCounts(queue: string): Promise<JobCounts> {
    return this.registries.getCounts(this.keys(queue));
  }

  retryFailed(queue: string, ids: string[], limit: number, token: string): Promise<RetryOutcome> {
    return this.registries.retryFailed(this.keys(queue), ids, limit, token);
  }

  remove(queue: string, id: string): Promise<JobStatus | null> {
    return this.registries.remove(queue, this.keys(queue), id, this.policy.eventsMaxLen);
  }

  linkDependency(queue: string, id: string, dependentRef: string): Promise<DependencyLink> {
    return this.deps.link(queue, this.keys(queue), id, dependentRef);
  }

  resolveDependency(queue: string, id: string, depRef: string, status: string, outcome: string) {
    return this.deps.resolve(queue, this.keys(queue), id, depRef, status, outcome);
  }

  handoffPending(queue: string, limit: number): Promise<HandoffItem[]> {
    return this.deps.pending(queue, this.keys(queue), limit);
  }

  handoffDone(queue: string, ids: string[]): Promise<void> {
    return this.deps.done(this.keys(queue), ids);
  }

  jobsExist(queue: string, ids: string[]): Promise<boolean[]> {
    return this.deps.exist(this.keys(queue), ids);
  }

  cancelRequests(queue: string, among: ReadonlySet<string>): Promise<Map<string, string>> {
    return this.notes.cancelRequests(this.keys(queue), among);
  }

  writeNotes(queue: string, notes: NoteWrite[]): Promise<boolean[]> {
    return this.notes.write(queue, this.keys(queue), notes, this.policy.eventsMaxLen, this.policy.maxLogLines ?? 1_000);
  }

  getLogs(queue: string, id: string, offset: number, limit: number): Promise<string[]> {
    return this.notes.logs(this.keys(queue), id, offset, limit);
  }

  async cancel(queue: string, id: string, reason: string, ttlMs: number): Promise<JobStatus | null> {
    const status = await this.registries.cancel(queue, this.keys(queue), id, reason, ttlMs, this.policy.eventsMaxLen);
    return isJobStatus(status) ? status : null;
  }

  cleanPass(queue: string, status: 'completed' | 'failed', olderThanMs: number, limit: number, offset: number) {
    return this.registries.cleanPass(this.keys(queue), status, olderThanMs, limit, offset);
  }

  setFlow(queue: string, changes: FlowChanges): Promise<void> {
    return this.flow.set(queue, this.keys(queue), changes);
  }

  getFlow(queue: string): Promise<FlowSettings> {
    return this.flow.get(this.keys(queue));
  }

  drainPass(queue: string): Promise<{ deleted: number; left: number }> {
    return this.registries.drainPass(this.keys(queue));
  }

  setSchedule(queue: string, id: string, job: ScheduleJob, firstAt: number | null, anchor: number | null) {
    const { spec, name, data, opts } = job;
    return this.schedules.set(this.keys(queue), id, { spec, name, data, fields: storedOptionFields(opts) }, firstAt, anchor);
  }

  advanceSchedule(queue: string, id: string, pending: string, tickAt: number | null, nextAt: number | null): Promise<boolean> {
    return this.schedules.advance(this.keys(queue), id, pending, tickAt, nextAt);
  }

  removeSchedule(queue: string, id: string): Promise<boolean> {
    return this.schedules.remove(this.keys(queue), id);
  }

  getSchedule(queue: string, id: string): Promise<ScheduleState | null> {
    return this.schedules.get(this.keys(queue), id);
  }

  listSchedules(queue: string): Promise<ScheduleInfo[]> {
    return this.schedules.list(this.keys(queue));
  }

  staleSchedules(queue: string): Promise<ScheduleState[]> {
    return this.schedules.stale(this.keys(queue));
  }

  async getOutcome(queue: string, id: string): Promise<JobOutcome | null> {
    const [status, result, error, name] = await this.call(() =>
      this.redis.hmget(this.keys(queue).job(id), 'status', 'result', 'error', 'name'),
    );
    if (status === null && name === null) return null;
    return outcomeFromFields(queue, id, status ?? null, result ?? null, error ?? null);
  }

  async eventCursor(queue: string): Promise<EventCursor> {
    const entries = await this.call(() => this.redis.xrevrange(this.keys(queue).events, '+', '-', 'COUNT', 1));
    return (entries[0]?.[0] ?? '0-0') as EventCursor;
  }

  async readEvents(
    queue: string,
    cursor: EventCursor,
    blockMs: number,
    count = 1000,
  ): Promise<{ cursor: EventCursor; events: StreamEvent[] }> {
    const conn = this.blockingConnection(`events:${queue}`);
    const reply = await this.call(() => conn.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys(queue).events, cursor), blockMs);
    return decodeXread(reply as Parameters<typeof decodeXread>[0], cursor);
  }

  /** True once `cursor` is at or past `target` (both from this broker). */
  reached(cursor: EventCursor, target: EventCursor): boolean {
    return cursorReached(cursor, target);
  }

  async durabilitySettings(): Promise<DurabilitySettings | null> {
    return readDurabilitySettings(this.redis, (operation) => this.call(operation));
  }

  async interruptBlocking(): Promise<void> {
    const conns = [...this.blocking.values()];
    this.blocking.clear();
    // ended on purpose: their closing is no outage
    for (const conn of conns) conn.removeAllListeners('close');
    await Promise.all(conns.map(disconnect));
  }

  /** Ends every connection; a Redis that does not answer QUIT promptly is disconnected. */
  async close(): Promise<void> {
    this.closing = true;
    await this.interruptBlocking();
    if (this.redis.status === 'end') return;
    const quit = this.redis.quit().catch(() => undefined);
    await Promise.race([quit, new Promise((r) => setTimeout(r, QUIT_WAIT_MS).unref())]);
    await disconnect(this.redis);
  }

  private waiterId(): string {
    if (!this.options.waiterId) throw new BrokerError('waitForWork needs the waiterId option (the supervisor id)');
    return this.options.waiterId;
  }

  /** Runs one operation, reads Redis's health from how it ends, and says what failed in brokkr's terms. */
  private async call<T>(operation: () => Promise<T>, blockMs = 0): Promise<T> {
    try {
      const result = await (this.redis instanceof Cluster
        ? withinDeadline(operation(), this.options.commandTimeoutMs + blockMs + DEADLINE_MARGIN_MS)
        : operation());
      this.health.markUp();
      this.lastSocketError = null;
      return result;
    } catch (err) {
      if (err instanceof BrokkrError) throw err;
      scrubSecrets(err);
      const message = redact((err as Error)?.message ?? String(err));
      if (isTransient(err)) {
        if (!this.closing) this.health.markDown(err);
        // the command's own error can be generic; the socket's says why (refused, TLS, auth)
        const why =
          this.lastSocketError && !message.includes(this.lastSocketError) ? ` (last connection error: ${this.lastSocketError})` : '';
        throw new BrokerUnavailableError(`Redis could not be reached: ${message}${why}`, err);
      }
      throw permissionError(message, err) ?? new BrokerError(`Redis answered with an error: ${message}`, err);
    }
  }

  private watch(conn: RedisClient): void {
    // socket errors surface as failed operations and as broker:down; the listener keeps ioredis quiet
    conn.on('error', (err: Error & { lastNodeError?: Error | null }) => {
      // a cluster that cannot load its slot map says why only in the last node's error (a refused login, say)
      const node = err.lastNodeError?.message;
      this.lastSocketError = redact(node && !err.message.includes(node) ? `${err.message} ${node}` : err.message);
    });
    conn.on('close', () => {
      if (!this.closing) this.health.markDown(new Error('connection to Redis closed'));
    });
  }

  private blockingConnection(purpose: string): WithScripts<RedisClient> {
    let conn = this.blocking.get(purpose);
    if (!conn) {
      const name = `${this.options.clientName}:${purpose}`;
      conn = defineScripts(createConnection(this.options.connection, 'blocking', name, { ...this.options, blockMs: BLOCK_LIMIT_MS }));
      this.watch(conn);
      this.blocking.set(purpose, conn);
    }
    return conn;
  }
}
