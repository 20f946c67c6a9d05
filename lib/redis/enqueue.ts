import { Cluster } from 'ioredis';
import type { EnqueueOutcome, NewJob, WritePolicy } from '../broker';
import { unknownDependency } from '../dependencies';
import type { RedisClient } from './connection';
import { parseDepRef, type QueueKeys } from './keys';
import { enqueueArguments } from './script-args';
import type { WithScripts } from './scripts';

/** Enqueue writes this many jobs per script call; each chunk is one round trip. */
export const ENQUEUE_CHUNK = 1000;

type Call = <T>(operation: () => Promise<T>, blockMs?: number) => Promise<T>;

/**
 * enqueue-17.lua over chunks of jobs; with `durability`, each chunk is followed by WAIT on the
 * same connection, and the fewest replicas any chunk reached is reported. `call`: the broker's
 * error handling.
 */
export async function enqueueJobs(
  redis: WithScripts<RedisClient>,
  k: QueueKeys,
  queue: string,
  policy: WritePolicy,
  jobs: NewJob[],
  durability: { replicas: number; timeoutMs: number } | undefined,
  callToken: string,
  call: Call,
): Promise<{ standing: EnqueueOutcome[]; replicas: number }> {
  const standing: EnqueueOutcome[] = [];
  const note = (chunk: NewJob[], reply: unknown) => {
    const [verdict, ...replies] = reply as string[];
    if (verdict === 'missing') {
      const dep = parseDepRef(replies[0]!);
      throw unknownDependency(dep.queue, dep.id);
    }
    chunk.forEach((job, i) => {
      const other = String(replies[i] ?? '');
      standing.push(other === '' ? { id: job.id, deduplicated: false } : { id: other, deduplicated: true });
    });
  };
  let replicas = Number.POSITIVE_INFINITY;
  for (let start = 0; start < jobs.length; start += ENQUEUE_CHUNK) {
    const chunk = jobs.slice(start, start + ENQUEUE_CHUNK);
    const [keys, args] = enqueueArguments(k, queue, policy, chunk, callToken);
    if (!durability || durability.replicas <= 0) {
      note(chunk, await call(() => redis.brokkrEnqueue(keys.length, ...keys, ...args)));
      continue;
    }
    // WAIT right behind the script, on the same connection (on a cluster, the pipeline goes to
    // the master of the queue's slot), so it counts the replicas that have this very write
    const [made, acked] = await call(async () => {
      const pipeline = redis.pipeline();
      (pipeline as unknown as { brokkrEnqueue: (...a: (string | number)[]) => unknown }).brokkrEnqueue(keys.length, ...keys, ...args);
      pipeline.wait(durability.replicas, durability.timeoutMs);
      const replies = await pipeline.exec();
      const failed = replies?.find(([err]) => err)?.[0];
      if (failed && /^MOVED|^ASK/.test(failed.message) && redis instanceof Cluster) {
        // a pipeline is sent where the client's slot map says; after a failover, refresh it first
        await new Promise<void>((resolve) => (redis as Cluster).refreshSlotsCache(() => resolve()));
      }
      if (failed || !replies) throw failed ?? new Error('pipeline returned nothing');
      return [replies[0]![1], Number(replies[1]![1])] as const;
    }, durability.timeoutMs);
    note(chunk, made);
    replicas = Math.min(replicas, acked);
  }
  return { standing, replicas: Number.isFinite(replicas) ? replicas : 0 };
}
