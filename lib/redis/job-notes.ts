import type { NoteWrite } from '../broker';
import type { RedisClient } from './connection';
import type { QueueKeys } from './keys';
import type { WithScripts } from './scripts';

type Run = <T>(operation: () => Promise<T>) => Promise<T>;

/** What running jobs say besides their outcome: progress and log lines, and the requests to cancel them. */
export class JobNotesStore {
  constructor(
    private readonly redis: WithScripts<RedisClient>,
    private readonly run: Run,
  ) {}

  /** See notes-2.lua: per note, whether it was written (its run still holds the job). */
  async write(queue: string, k: QueueKeys, notes: NoteWrite[], eventsMaxLen: number, maxLogLines: number): Promise<boolean[]> {
    const args: (string | number)[] = [queue, k.jobPrefix, eventsMaxLen, maxLogLines, k.logsSuffix];
    for (const n of notes) args.push(n.id, n.token, n.progress ?? '', n.logs.length, ...n.logs);
    const reply = (await this.run(() => this.redis.brokkrNotes(2, k.events, k.guard, ...args))) as number[];
    return reply.map((r) => Number(r) === 1);
  }

  async logs(k: QueueKeys, id: string, offset: number, limit: number): Promise<string[]> {
    return this.run(() => this.redis.lrange(k.jobLogs(id), offset, offset + limit - 1));
  }

  /** Which of the jobs `among` were asked to cancel, with the reasons (the reason is read only for those). */
  async cancelRequests(k: QueueKeys, among: ReadonlySet<string>): Promise<Map<string, string>> {
    const ids = (await this.run(() => this.redis.zrange(k.canceling, '0', '999'))).filter((id) => among.has(id));
    const out = new Map<string, string>();
    for (const id of ids) out.set(id, (await this.run(() => this.redis.hget(k.job(id), 'cancelReason'))) ?? '');
    return out;
  }
}
