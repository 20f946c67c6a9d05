import type { BrokerObservability, EventBatch, EventStreamState } from '../broker';
import { minutesSince, type QueueMetrics, summarize } from '../metrics';
import { decodeWorker, type WorkerInfo } from '../workers';
import type { RedisClient } from './connection';
import { readEventBatch, readStreamState } from './event-stream';
import { type QueueKeys, registryKeys } from './keys';
import type { WithScripts } from './scripts';

type Call = <T>(operation: () => Promise<T>) => Promise<T>;

/** What lets anyone see what is going on: the event stream, the supervisor registry, per-minute metrics. */
export class ObservabilityStore implements BrokerObservability {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly call: Call,
    private readonly prefix: string,
    private readonly keys: (queue: string) => QueueKeys,
  ) {}

  eventStreamState(queue: string): Promise<EventStreamState> {
    return readStreamState(this.redis, this.keys(queue).events, this.call);
  }

  readEventBatch(queue: string, after: string, count: number): Promise<EventBatch> {
    return readEventBatch(this.redis, this.keys(queue).events, after, count, this.call);
  }

  /** One script for the registration, one per queue served (each queue is its own slot). */
  async register(info: WorkerInfo, ttlMs: number): Promise<void> {
    const r = registryKeys(this.prefix);
    await this.call(() => this.redis.brokkrRegister(2, r.index, r.supervisor(info.id), info.id, JSON.stringify(info), ttlMs));
    await Promise.all(info.queues.map((q) => this.call(() => this.redis.brokkrPresence(1, this.keys(q).workers, info.id, ttlMs))));
  }

  async unregister(id: string, queues: string[]): Promise<void> {
    const r = registryKeys(this.prefix);
    await Promise.all(queues.map((q) => this.call(() => this.redis.brokkrPresence(1, this.keys(q).workers, id, ''))));
    await this.call(() => this.redis.brokkrRegister(2, r.index, r.supervisor(id), id, '', 0));
  }

  /** The live supervisors (of one queue, or all): those whose registration has not expired. */
  async workers(queue?: string): Promise<WorkerInfo[]> {
    const r = registryKeys(this.prefix);
    const ids = await this.call(() => this.redis.zrange(queue ? this.keys(queue).workers : r.index, '0', '-1'));
    if (ids.length === 0) return [];
    const infos = await this.call(() => this.redis.mget(...ids.map((id) => r.supervisor(id))));
    return infos.flatMap((json) => {
      const info = decodeWorker(json);
      return info && (!queue || info.queues.includes(queue)) ? [info] : [];
    });
  }

  /** The queue's minutes from `sinceMs` ago to now (Redis server clock), read in one pipeline. */
  async metrics(queue: string, sinceMs: number): Promise<QueueMetrics> {
    const [seconds, micros] = await this.call(() => this.redis.time());
    const minutes = minutesSince(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), sinceMs);
    const prefix = this.keys(queue).metricsPrefix;
    const replies = await this.call(async () => {
      const pipeline = this.redis.pipeline();
      for (const at of minutes) pipeline.hgetall(prefix + at);
      return (await pipeline.exec()) ?? [];
    });
    return summarize(
      queue,
      minutes.map((at, i) => {
        const [err, fields] = replies[i] ?? [null, {}];
        if (err) throw err;
        return { at, fields: (fields ?? {}) as Record<string, string> };
      }),
    );
  }
}
