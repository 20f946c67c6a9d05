import type { DependencyLink, HandoffItem } from '../broker';
import type { WritePolicy } from '../broker';
import { DEFAULT_FAILED_TTL_MS } from '../config';
import type { RedisClient } from './connection';
import type { QueueKeys } from './keys';
import type { WithScripts } from './scripts';

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

/** The scripts of dependencies (see lua/includes/deps.lua): linking, delivering outcomes, the hand-off. */
export class DependencyStore {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly run: Run,
    private readonly policy: WritePolicy,
  ) {}

  async link(queue: string, k: QueueKeys, id: string, dependentRef: string): Promise<DependencyLink> {
    const reply = (await this.run(() =>
      this.redis.brokkrDepLink(3, k.job(id), k.jobDependents(id), k.guard, dependentRef, queue, id),
    )) as string[];
    if (reply[0] === 'missing' || reply[0] === 'linked') return { state: reply[0] };
    return { state: 'finished', status: reply[0]!, outcome: reply[1]! };
  }

  async resolve(queue: string, k: QueueKeys, id: string, depRef: string, status: string, outcome: string) {
    const keys = [...k.flow, k.deferred, k.failed, k.canceled, k.events, k.handoff, k.guard, k.job(id), k.jobDeps(id)];
    const { eventsMaxLen, eventDataMaxBytes } = this.policy;
    const args = [id, depRef, status, outcome, queue, eventsMaxLen, eventDataMaxBytes, DEFAULT_FAILED_TTL_MS, ...k.flowPrefixes];
    const [state, handoff] = (await this.run(() => this.redis.brokkrDepResolve(keys.length, ...keys, ...args))) as [string, number];
    return { state, handoff: Number(handoff) === 1 };
  }

  async pending(queue: string, k: QueueKeys, limit: number): Promise<HandoffItem[]> {
    const flat = (await this.run(() =>
      this.redis.brokkrHandoffRead(2, k.handoff, k.guard, k.jobPrefix, k.dependentsSuffix, queue, limit),
    )) as (string | number)[];
    const items: HandoffItem[] = [];
    for (let i = 0; i < flat.length; ) {
      const n = Number(flat[i + 3]);
      items.push({
        id: String(flat[i]),
        status: String(flat[i + 1]),
        outcome: String(flat[i + 2]),
        dependents: flat.slice(i + 4, i + 4 + n).map(String),
      });
      i += 4 + n;
    }
    return items;
  }

  async done(k: QueueKeys, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.run(() => this.redis.brokkrHandoffDone(2, k.handoff, k.guard, k.jobPrefix, k.dependentsSuffix, ...ids));
  }

  async exist(k: QueueKeys, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(k.job(id));
    const replies = await this.run(async () => (await pipeline.exec()) ?? []);
    return replies.map(([, n]) => Number(n) === 1);
  }
}
