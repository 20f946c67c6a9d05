import { type FlowChanges, type FlowSettings, flowFromHash } from '../flow';
import type { RedisClient } from './connection';
import type { QueueKeys } from './keys';
import type { WithScripts } from './scripts';

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

/** A queue's flow controls in its control hash: changed by one script (flow-12.lua), read as one hash. */
export class FlowStore {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly run: Run,
    private readonly eventsMaxLen: number,
  ) {}

  async set(queue: string, k: QueueKeys, changes: FlowChanges): Promise<void> {
    const keys = [...k.flow, k.events, k.guard];
    const args = [queue, this.eventsMaxLen, ...k.flowPrefixes, ...Object.entries(changes).flat()];
    await this.run(() => this.redis.brokkrFlow(keys.length, ...keys, ...args));
  }

  async get(k: QueueKeys): Promise<FlowSettings> {
    return flowFromHash(await this.run(() => this.redis.hgetall(k.control)));
  }
}
