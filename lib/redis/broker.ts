import type { Redis } from 'ioredis';
import type { ConnectionOptions } from '../config';
import type { SerializedError } from '../errors';
import { OPTION_FIELDS, type JobOptions } from '../job';
import { createConnection, disconnect, type ConnectionSettings } from './connection';
import { BrokerHealth } from './health';
import { isTransient } from './retry';
import { queueKeys, type QueueKeys } from './keys';
import { defineScripts, type WithScripts } from './scripts';

export interface NewJob {
  id: string;
  name: string;
  /** JSON text of the job's data */
  data: string;
  opts: JobOptions;
}

/** A job leased to this supervisor: it is active in Redis until its outcome is written. */
export interface LeasedJob {
  id: string;
  token: string;
  name: string;
  /** JSON text, unparsed: it crosses the thread boundary as a string */
  data: string;
  attempt: number;
  /** the job's own timeout, if it set one */
  timeoutMs?: number;
  createdAt: number;
}

/** An id taken off the wait list that could not be leased. */
export interface DroppedId {
  id: string;
  reason: string;
}

export interface Outcome {
  id: string;
  token: string;
  status: 'completed' | 'failed';
  /** result JSON or serialised error JSON */
  payload: string;
  /** used unless the job set its own resultTtlMs / failedTtlMs */
  defaultTtlMs: number;
  name: string;
  attempt: number;
}

export interface Run {
  id: string;
  token: string;
}

export type ReleaseMode = 'free' | 'counted' | 'stalled';

export interface ReleasePolicy {
  mode: ReleaseMode;
  reason: string;
  maxStalls: number;
  /** failed-record ttl unless the job set its own */
  failedTtlMs: number;
  eventsMaxLen: number;
}

export interface Released {
  id: string;
  state: 'requeued' | 'failed' | 'refused' | 'gone';
  stalls: number;
  attempts: number;
  name: string;
  /** the JobStalledError a job ended with, when state is failed */
  error?: SerializedError;
}

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

/**
 * How long a blocking wait lasts (an idle supervisor's wait for work, a reader's wait for events)
 * before it is renewed; the blocking connections' command timeout adds it.
 */
export const BLOCK_LIMIT_MS = 5_000;

/** How long close() waits for Redis to answer QUIT before it just disconnects. */
const QUIT_WAIT_MS = 500;

/** Enqueue writes this many jobs per script call; each chunk is one round trip. */
export const ENQUEUE_CHUNK = 1000;

/**
 * The only code that talks to Redis. Every change of more than one key is one Lua script; this
 * class builds the arguments and reads the replies. One command connection, plus one blocking
 * connection per purpose and queue, made on first use.
 */
export class RedisBroker {
  readonly redis: WithScripts<Redis>;
  /** down / up, once per outage, from connection events and from the fate of every operation */
  readonly health = new BrokerHealth();
  private readonly blocking = new Map<string, Redis>();
  private readonly keysByQueue = new Map<string, QueueKeys>();
  private closing = false;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly clientName: string,
    private readonly settings: ConnectionSettings,
  ) {
    this.redis = defineScripts(createConnection(connection, 'command', clientName, settings));
    this.watch(this.redis);
  }

  keys(queue: string): QueueKeys {
    let keys = this.keysByQueue.get(queue);
    if (!keys) {
      keys = queueKeys(this.prefix, queue);
      this.keysByQueue.set(queue, keys);
    }
    return keys;
  }

  /** Writes the jobs in chunks; returns how many were new (a resent id is not created twice). */
  async enqueue(queue: string, jobs: NewJob[]): Promise<number> {
    const k = this.keys(queue);
    let created = 0;
    for (let start = 0; start < jobs.length; start += ENQUEUE_CHUNK) {
      const chunk = jobs.slice(start, start + ENQUEUE_CHUNK);
      const keys: string[] = [k.wait];
      const args: (string | number)[] = [];
      for (const job of chunk) {
        keys.push(k.job(job.id));
        const optionArgs: (string | number)[] = [];
        for (const field of OPTION_FIELDS) {
          const value = job.opts[field];
          if (value !== undefined) optionArgs.push(field, value);
        }
        args.push(job.id, job.name, job.data, optionArgs.length / 2, ...optionArgs);
      }
      created += Number(await this.call(() => this.redis.brokkrEnqueue(keys.length, ...keys, ...args)));
    }
    return created;
  }

  async fetch(
    queue: string,
    count: number,
    owner: string,
    tokenBase: string,
    leaseMs: number,
  ): Promise<{ jobs: LeasedJob[]; dropped: DroppedId[] }> {
    const k = this.keys(queue);
    const reply = (await this.call(() => this.redis.brokkrFetch(2, k.wait, k.active, count, owner, tokenBase, leaseMs, k.jobPrefix))) as (
      | string
      | number
    )[];
    const jobs: LeasedJob[] = [];
    const dropped: DroppedId[] = [];
    for (let i = 1; i < reply.length; i += 8) {
      const id = String(reply[i]);
      const state = String(reply[i + 1]);
      if (state !== 'ok') {
        dropped.push({ id, reason: state === 'missing' ? 'its record no longer exists' : `its record is ${state.slice(8)}, not queued` });
        continue;
      }
      const timeout = String(reply[i + 6]);
      const job: LeasedJob = {
        id,
        token: String(reply[i + 2]),
        name: String(reply[i + 3]),
        data: String(reply[i + 4]),
        attempt: Number(reply[i + 5]),
        createdAt: Number(reply[i + 7]),
      };
      if (timeout !== '') job.timeoutMs = Number(timeout);
      jobs.push(job);
    }
    return { jobs, dropped };
  }

  /** Writes outcomes in one script call; returns, per outcome, whether it was written (false: lease lost). */
  async finish(queue: string, outcomes: Outcome[], eventsMaxLen: number): Promise<{ now: number; written: boolean[] }> {
    const k = this.keys(queue);
    const keys = [k.active, k.completed, k.failed, k.events];
    const args: (string | number)[] = [eventsMaxLen];
    for (const o of outcomes) {
      keys.push(k.job(o.id));
      args.push(o.id, o.token, o.status, o.payload, o.defaultTtlMs, o.name, o.attempt);
    }
    const reply = (await this.call(() => this.redis.brokkrFinish(keys.length, ...keys, ...args))) as number[];
    // 2: this very run's outcome is already stored (a retried write whose first reply was lost)
    return { now: Number(reply[0]), written: reply.slice(1).map((v) => v === 1 || v === 2) };
  }

  /** Takes runs off the active set and puts their jobs back at the front of the wait list (see release-4.lua). */
  async release(queue: string, runs: Run[], policy: ReleasePolicy): Promise<Released[]> {
    const k = this.keys(queue);
    const keys = [k.wait, k.active, k.failed, k.events, ...runs.map((r) => k.job(r.id))];
    const args: (string | number)[] = [policy.eventsMaxLen, policy.mode, policy.reason, policy.maxStalls, policy.failedTtlMs];
    for (const r of runs) args.push(r.id, r.token);
    const reply = (await this.call(() => this.redis.brokkrRelease(keys.length, ...keys, ...args))) as (string | number)[];
    const out: Released[] = [];
    for (let i = 0; i < reply.length; i += 5) {
      const released: Released = {
        id: runs[i / 5]!.id,
        state: String(reply[i]) as Released['state'],
        stalls: Number(reply[i + 1]),
        attempts: Number(reply[i + 2]),
        name: String(reply[i + 3]),
      };
      if (reply[i + 4]) released.error = JSON.parse(String(reply[i + 4])) as SerializedError;
      out.push(released);
    }
    return out;
  }

  /** Runs whose lease has expired by Redis server time, with their tokens; also trims the registries. */
  async expired(queue: string, limit: number): Promise<Run[]> {
    const k = this.keys(queue);
    const reply = (await this.call(() => this.redis.brokkrExpired(3, k.active, k.completed, k.failed, limit, k.jobPrefix))) as string[];
    const runs: Run[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) runs.push({ id: reply[i]!, token: reply[i + 1]! });
    return runs;
  }

  /** Extends the leases of runs still held; returns the ids whose lease was lost. */
  async renew(queue: string, runs: Run[], leaseMs: number): Promise<string[]> {
    const k = this.keys(queue);
    const keys = [k.active, ...runs.map((r) => k.job(r.id))];
    const args: (string | number)[] = [leaseMs];
    for (const r of runs) args.push(r.id, r.token);
    return (await this.call(() => this.redis.brokkrRenew(keys.length, ...keys, ...args))) as string[];
  }

  /**
   * Blocks until the queue's wait list is not empty or the timeout passes. BLMOVE from the list's
   * tail to its own tail changes nothing, so it is a wait with no side effect; the job is then
   * leased by the fetch script.
   */
  async waitForWork(queue: string, timeoutMs: number): Promise<boolean> {
    const k = this.keys(queue);
    const reply = await this.call(() =>
      this.blockingConnection(`work:${queue}`).blmove(k.wait, k.wait, 'RIGHT', 'RIGHT', timeoutMs / 1000),
    );
    return reply !== null;
  }

  async getJobHash(queue: string, id: string): Promise<Record<string, string> | null> {
    const hash = await this.call(() => this.redis.hgetall(this.keys(queue).job(id)));
    return Object.keys(hash).length === 0 ? null : hash;
  }

  /** The id of the newest event, or "0-0" when the stream is empty. */
  async lastEventId(queue: string): Promise<string> {
    const entries = await this.call(() => this.redis.xrevrange(this.keys(queue).events, '+', '-', 'COUNT', 1));
    return entries[0]?.[0] ?? '0-0';
  }

  /** Reads events after `afterId`, blocking up to `blockMs` on the queue's event reader connection. */
  async readEvents(queue: string, afterId: string, blockMs: number, count = 1000): Promise<StreamEntry[]> {
    const reply = await this.call(() =>
      this.blockingConnection(`events:${queue}`).xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys(queue).events, afterId),
    );
    if (!reply) return [];
    const out: StreamEntry[] = [];
    for (const [, entries] of reply) {
      for (const [id, flat] of entries) {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
        out.push({ id, fields });
      }
    }
    return out;
  }

  /** Ends the blocking connections (their pending waits reject) but keeps the command connection. */
  async interruptBlocking(): Promise<void> {
    const conns = [...this.blocking.values()];
    this.blocking.clear();
    await Promise.all(conns.map(disconnect));
  }

  /** Ends every connection; a Redis that does not answer QUIT promptly is disconnected. */
  /** The server's durability settings that brokkr relies on (null where CONFIG is not allowed). */
  async serverSettings(): Promise<Record<string, string> | null> {
    try {
      const reply = (await this.call(() => this.redis.config('GET', 'appendonly', 'appendfsync', 'maxmemory-policy'))) as string[];
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
      return out;
    } catch (err) {
      if (isTransient(err)) throw err;
      return null; // managed services often disable CONFIG
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.interruptBlocking();
    if (this.redis.status === 'end') return;
    const quit = this.redis.quit().catch(() => undefined);
    await Promise.race([quit, new Promise((r) => setTimeout(r, QUIT_WAIT_MS).unref())]);
    await disconnect(this.redis);
  }

  /** Runs one operation and reads Redis's health from how it ends. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      const result = await operation();
      this.health.markUp();
      return result;
    } catch (err) {
      if (isTransient(err) && !this.closing) this.health.markDown(err);
      throw err;
    }
  }

  private watch(conn: Redis): void {
    // socket errors surface as failed operations and as broker:down; the listener keeps ioredis quiet
    conn.on('error', () => undefined);
    conn.on('close', () => {
      if (!this.closing) this.health.markDown(new Error('connection to Redis closed'));
    });
  }

  private blockingConnection(purpose: string): Redis {
    let conn = this.blocking.get(purpose);
    if (!conn) {
      conn = createConnection(this.connection, 'blocking', `${this.clientName}:${purpose}`, { ...this.settings, blockMs: BLOCK_LIMIT_MS });
      this.watch(conn);
      this.blocking.set(purpose, conn);
    }
    return conn;
  }
}
