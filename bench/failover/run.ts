import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { type ConnectionOptions, Queue, Supervisor } from '../../lib';
import { queueKeys } from '../../lib/redis/keys';
import { startEphemeralCluster } from '../../scripts/ephemeral-cluster';
import type { EphemeralRedis } from '../../scripts/ephemeral-redis';
import { startEphemeralSentinel } from '../../scripts/ephemeral-sentinel';

/** What fails over: a Redis Cluster (3 masters, a replica each) or a master and replica under Sentinel. */
export type Topology = 'cluster' | 'sentinel';

interface Running {
  connection: ConnectionOptions;
  servers: Map<number, EphemeralRedis>;
  /** the master that holds the queue now */
  masterOf(queue: string): Promise<number>;
  /** a plain client for reading records after the failover */
  admin(): Redis | Cluster;
  stop(): Promise<void>;
}

async function start(topology: Topology): Promise<Running> {
  if (topology === 'cluster') {
    const c = await startEphemeralCluster({ nodeTimeoutMs: 2_000 });
    return {
      connection: c.connection,
      servers: c.servers,
      masterOf: (queue) => c.masterOf(queueKeys('brokkr', queue).wait),
      admin: () => new Cluster(c.nodes),
      stop: () => c.stop(),
    };
  }
  const s = await startEphemeralSentinel();
  return {
    connection: s.connection,
    servers: s.servers,
    masterOf: () => s.master(),
    admin: () => new Redis(s.connection),
    stop: () => s.stop(),
  };
}

export interface FailoverReport {
  /** enqueues that resolved */
  accepted: number;
  /** enqueues that rejected (BrokerUnavailableError, ReplicationError) */
  refused: number;
  /** accepted jobs not completed at the end (a missing record, or one left unfinished) */
  lost: number;
  /** of those, jobs whose record is gone: written on the old master, never replicated */
  missing: number;
  /** accepted jobs that completed */
  completed: number;
  /** longest time without an accepted enqueue, around the kill */
  producerStallMs: number;
  /** longest time without a completed job, around the kill */
  supervisorStallMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One failover under load: a supervisor and producers (each one job at a time) work on one queue; the
 * master that holds the queue is killed with SIGKILL, its replica takes over (promoted by the
 * cluster, or by the sentinels), and both carry on by themselves; the dead master is started again
 * and rejoins as a replica. Every accepted job is then checked for a final state.
 */
export async function runFailover(options: {
  topology?: Topology;
  waitForReplicas: number;
  /** enqueue loops running side by side, each one job at a time (default 1) */
  producers?: number;
  /**
   * Replicas fall behind first: they are stopped (SIGSTOP) this long before the kill and resumed
   * right after it, so the promoted one lacks what the master acknowledged meanwhile (default 0).
   */
  replicaLagMs?: number;
  beforeMs?: number;
  restartAfterMs?: number;
  afterMs?: number;
}): Promise<FailoverReport> {
  const cluster = await start(options.topology ?? 'cluster');
  const name = `failover-${Date.now().toString(36)}`;
  const handler = join(__dirname, '..', 'handlers', __filename.endsWith('.ts') ? 'noop.ts' : 'noop.js');
  const queue = new Queue(name, { connection: cluster.connection, brokerWaitMs: 30_000, waitForReplicas: options.waitForReplicas });
  const supervisor = new Supervisor({
    connection: cluster.connection,
    queues: [name],
    threads: 1,
    concurrency: 4,
    leaseMs: 1_500,
    handlers: { noop: handler },
    logger: { warn: () => undefined, error: () => undefined },
  });
  const accepted: string[] = [];
  const acceptedAt: number[] = [];
  const completedAt: number[] = [];
  let refused = 0;
  supervisor.on('completed', () => completedAt.push(Date.now()));
  try {
    await supervisor.start();
    let producing = true;
    const produce = async () => {
      while (producing) {
        try {
          const ref = await queue.enqueue('noop', null);
          accepted.push(ref.id);
          acceptedAt.push(Date.now());
        } catch (err) {
          refused++;
          if (process.env.FAILOVER_DEBUG) process.stderr.write(`refused at ${Date.now()}: ${(err as Error).message}\n`);
        }
      }
    };
    const producer = Promise.all(Array.from({ length: options.producers ?? 1 }, produce));
    await sleep(options.beforeMs ?? 1_500);
    const master = await cluster.masterOf(name);
    const behind = options.replicaLagMs ? await replicasOf(master, cluster.servers) : [];
    for (const replica of behind) replica.signal('SIGSTOP');
    if (behind.length > 0) await sleep(options.replicaLagMs!);
    const killedAt = Date.now();
    cluster.servers.get(master)!.signal('SIGKILL');
    for (const replica of behind) replica.signal('SIGCONT');
    // as an operator would: the dead master comes back, and rejoins as a replica of the new one
    await sleep(options.restartAfterMs ?? 5_000);
    await cluster.servers.get(master)!.restart();
    await sleep(options.afterMs ?? 4_000);
    producing = false;
    await producer;
    const admin = cluster.admin();
    admin.on('error', () => undefined);
    const keys = queueKeys('brokkr', name);
    const unfinished = async () => {
      const statuses = await Promise.all(accepted.map((id) => admin.hget(keys.job(id), 'status')));
      return accepted.filter((_, i) => statuses[i] !== null && statuses[i] !== 'completed' && statuses[i] !== 'failed').length;
    };
    // jobs whose outcome the old master took with it run again once their lease expires
    const deadline = Date.now() + 30_000;
    while ((await unfinished()) > 0 && Date.now() < deadline) await sleep(250);
    const statuses = await Promise.all(accepted.map((id) => admin.hget(keys.job(id), 'status')));
    // records kept 24 h: a missing one was never replicated before the kill
    const lost = statuses.filter((s) => s !== 'completed').length;
    admin.disconnect();
    if (process.env.FAILOVER_DEBUG) {
      const hist = (ts: number[]) =>
        Array.from(
          { length: 40 },
          (_, i) => ts.filter((t) => t >= killedAt - 2000 + i * 250 && t < killedAt - 2000 + (i + 1) * 250).length,
        ).join(',');
      process.stderr.write(`master ${master} acks ${hist(acceptedAt)}\ncompletions ${hist(completedAt)}\n`);
    }
    return {
      accepted: accepted.length,
      refused,
      lost,
      missing: statuses.filter((s) => s === null).length,
      completed: statuses.filter((s) => s === 'completed').length,
      producerStallMs: longestGap(acceptedAt, killedAt),
      supervisorStallMs: longestGap(completedAt, killedAt),
    };
  } finally {
    await supervisor.close({ graceMs: 1_000 }).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await cluster.stop();
  }
}

async function replicasOf(master: number, servers: Map<number, EphemeralRedis>): Promise<EphemeralRedis[]> {
  const client = new Redis({ host: '127.0.0.1', port: master, lazyConnect: true });
  try {
    const info = await client.info('replication');
    return [...info.matchAll(/^slave\d+:.*port=(\d+)/gm)].map((m) => servers.get(Number(m[1]))!).filter(Boolean);
  } finally {
    client.disconnect();
  }
}

/** The longest gap between consecutive times from just before `at` on (Infinity: none came after it). */
function longestGap(times: number[], at: number): number {
  const from = times.filter((t) => t <= at).pop() ?? at;
  const after = times.filter((t) => t > at);
  if (after.length === 0) return Number.POSITIVE_INFINITY;
  let longest = 0;
  let previous = from;
  for (const t of after) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return longest;
}
