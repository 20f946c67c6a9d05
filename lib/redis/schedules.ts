import type { ScheduleInfo, ScheduleState, StoredSpec } from '../schedule';
import type { RedisClient } from './connection';
import type { QueueKeys } from './keys';
import { readHashes } from './records';
import type { WithScripts } from './scripts';

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

/** The Redis side of recurring schedules: a set of ids per queue, a hash per schedule, ticks as delayed jobs. */
export class ScheduleStore {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly run: Run,
  ) {}

  /** Creates or replaces the schedule with its first tick; returns the pending tick's id ('' : none). */
  async set(
    k: QueueKeys,
    id: string,
    job: { spec: StoredSpec; name: string; data: string; fields: (string | number)[] },
    firstAt: number | null,
    anchor: number | null,
  ): Promise<{ pending: string; nextRunAt: number | null }> {
    const keys = [k.schedules, k.schedule(id), k.delayed, k.marker, k.guard];
    const args = [k.jobPrefix, id, JSON.stringify(job.spec), job.name, job.data, JSON.stringify(job.fields.map(String))];
    args.push(firstAt === null ? '' : String(firstAt), job.spec.limit === undefined ? '' : String(job.spec.limit));
    args.push(anchor === null ? '' : String(anchor));
    const [pending, nextRunAt] = (await this.run(() => this.redis.brokkrScheduleSet(keys.length, ...keys, ...args))) as string[];
    return { pending: pending ?? '', nextRunAt: nextRunAt ? Number(nextRunAt) : null };
  }

  async advance(k: QueueKeys, id: string, pending: string, tickAt: number | null, nextAt: number | null): Promise<boolean> {
    const args = [k.jobPrefix, id, pending, tickAt ?? '', nextAt ?? ''];
    return Number(await this.run(() => this.redis.brokkrScheduleAdvance(4, k.schedule(id), k.delayed, k.marker, k.guard, ...args))) === 1;
  }

  async remove(k: QueueKeys, id: string): Promise<boolean> {
    const keys = [k.schedules, k.schedule(id), k.delayed, k.guard];
    return Number(await this.run(() => this.redis.brokkrScheduleRemove(keys.length, ...keys, k.jobPrefix, id))) === 1;
  }

  async get(k: QueueKeys, id: string): Promise<ScheduleState | null> {
    const [pending, spec, anchor] = await this.run(() => this.redis.hmget(k.schedule(id), 'pending', 'spec', 'anchor'));
    if (!spec) return null;
    return { id, spec: JSON.parse(spec) as StoredSpec, pending: pending ?? '', anchor: anchor ? Number(anchor) : null };
  }

  async list(k: QueueKeys): Promise<ScheduleInfo[]> {
    const ids = (await this.run(() => this.redis.smembers(k.schedules))).sort();
    if (ids.length === 0) return [];
    const hashes = await this.run(() => readHashes(this.redis, ids.map(k.schedule)));
    const out: ScheduleInfo[] = [];
    hashes.forEach((h, i) => {
      if (!h.spec) return;
      const number = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
      out.push({
        id: ids[i]!,
        spec: JSON.parse(h.spec) as StoredSpec,
        name: h.name ?? '',
        data: h.data === undefined ? null : JSON.parse(h.data),
        nextRunAt: number(h.nextRunAt),
        lastRunAt: number(h.lastRunAt),
        count: Number(h.count ?? 0),
        createdAt: Number(h.createdAt ?? 0),
      });
    });
    return out;
  }

  /** Schedules whose pending tick is gone or was taken without the schedule moving on. */
  async stale(k: QueueKeys): Promise<ScheduleState[]> {
    const flat = (await this.run(() =>
      this.redis.brokkrSchedulesStale(2, k.schedules, k.guard, k.jobPrefix, k.schedulePrefix),
    )) as string[];
    const out: ScheduleState[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      const anchor = flat[i + 3] ? Number(flat[i + 3]) : null;
      out.push({ id: flat[i]!, pending: flat[i + 1]!, spec: JSON.parse(flat[i + 2]!) as StoredSpec, anchor, pendingStatus: flat[i + 4]! });
    }
    return out;
  }
}
