import type { RetryOutcome } from '../broker';
import type { JobCounts, JobInfo } from '../job';
import { isJobStatus, type JobStatus, LISTED_STATUSES, type ListedStatus } from '../states';
import type { RedisClient } from './connection';
import type { QueueKeys } from './keys';
import { jobFromHash, readHashes } from './records';
import type { WithScripts } from './scripts';

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * What a queue's lists and sets answer, and the housekeeping on them: listing and counting jobs
 * by status, putting failed jobs back, removing, cleaning and draining. Reads go straight to
 * Redis; every change is one script call over a bounded number of jobs, so a large queue is
 * handled in passes that never block Redis for long. `run` is the broker's error handling.
 */
export class Registries {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly run: Run,
  ) {}

  /**
   * Queued: in the order they are taken within their group (by priority, then arrival), those
   * without a group first, then those of every group. The sets: from their highest score.
   */
  async getJobs<D, R>(queue: string, k: QueueKeys, status: ListedStatus, offset: number, limit: number): Promise<JobInfo<D, R>[]> {
    const last = offset + limit - 1;
    const ids = await this.run(() =>
      status === 'queued' ? this.queuedIds(k, offset, limit) : this.redis.zrevrange(this.setOf(k, status), offset, last),
    );
    if (ids.length === 0) return [];
    const hashes = await this.run(() => readHashes(this.redis, ids.map(k.job)));
    const jobs: JobInfo<D, R>[] = [];
    hashes.forEach((hash, i) => {
      if (Object.keys(hash).length > 0) jobs.push(jobFromHash<D, R>(queue, ids[i]!, hash));
    });
    return jobs;
  }

  /** A page over the ungrouped queued jobs followed by the grouped ones: O(page size), whatever the backlog. */
  private async queuedIds(k: QueueKeys, offset: number, limit: number): Promise<string[]> {
    const ungrouped = await this.redis.zrange(k.wait, String(offset), String(offset + limit - 1));
    if (ungrouped.length === limit) return ungrouped;
    const skip = ungrouped.length > 0 ? 0 : offset - (await this.redis.zcard(k.wait));
    return ungrouped.concat(await this.redis.zrange(k.grouped, String(skip), String(skip + limit - ungrouped.length - 1)));
  }

  async getCounts(k: QueueKeys): Promise<JobCounts> {
    const keys = [k.wait, k.grouped, k.active, k.delayed, k.retrying, k.deferred, k.completed, k.failed, k.canceled];
    const counts = (await this.run(() => this.redis.brokkrCounts(keys.length, ...keys))) as number[];
    return Object.fromEntries(LISTED_STATUSES.map((status, i) => [status, Number(counts[i])])) as JobCounts;
  }

  async retryFailed(k: QueueKeys, ids: string[], limit: number, token: string): Promise<RetryOutcome> {
    const reply = (await this.run(() =>
      this.redis.brokkrRetry(12, ...k.flow, k.failed, k.guard, k.jobPrefix, limit, token, ...k.flowPrefixes, ...ids),
    )) as (string | number)[];
    const statuses = reply.slice(2).map((s) => (isJobStatus(s) ? s : null));
    return { retried: Number(reply[0]), scanned: Number(reply[1]), statuses };
  }

  async remove(queue: string, k: QueueKeys, id: string, eventsMaxLen: number): Promise<JobStatus | null> {
    const keys = [...k.flow, k.delayed, k.retrying, k.completed, k.failed, k.job(id), k.guard, k.deferred, k.canceled, k.events];
    const status = await this.run(() => this.redis.brokkrRemove(keys.length, ...keys, id, ...k.flowPrefixes, queue, eventsMaxLen));
    return isJobStatus(status) ? status : null;
  }

  /** See cancel-19.lua: the status the job had ('' : no record). */
  async cancel(queue: string, k: QueueKeys, id: string, reason: string, ttlMs: number, eventsMaxLen: number): Promise<string> {
    const keys = [...k.flow, k.delayed, k.retrying, k.canceled, k.events, k.job(id), k.guard, k.canceling, k.deferred, k.handoff];
    return String(
      await this.run(() => this.redis.brokkrCancel(keys.length, ...keys, id, reason, queue, ttlMs, eventsMaxLen, ...k.flowPrefixes)),
    );
  }

  async cleanPass(k: QueueKeys, status: 'completed' | 'failed', olderThanMs: number, limit: number, offset: number) {
    const registry = status === 'completed' ? k.completed : k.failed;
    const [deleted, kept, scanned] = (await this.run(() =>
      this.redis.brokkrClean(2, registry, k.guard, k.jobPrefix, olderThanMs, limit, offset, PASS_SIZE),
    )) as number[];
    return { deleted: Number(deleted), kept: Number(kept), scanned: Number(scanned) };
  }

  async drainPass(k: QueueKeys): Promise<{ deleted: number; left: number }> {
    const [deleted, left] = (await this.run(() =>
      this.redis.brokkrDrain(12, ...k.flow, k.delayed, k.guard, k.jobPrefix, PASS_SIZE, ...k.flowPrefixes),
    )) as number[];
    return { deleted: Number(deleted), left: Number(left) };
  }

  private setOf(k: QueueKeys, status: Exclude<ListedStatus, 'queued'>): string {
    const sets = { active: k.active, delayed: k.delayed, retrying: k.retrying, deferred: k.deferred };
    return { ...sets, completed: k.completed, failed: k.failed, canceled: k.canceled }[status];
  }
}

/** Most jobs one housekeeping script call handles. */
export const PASS_SIZE = 1000;
