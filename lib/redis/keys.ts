/**
 * The only place a Redis key is spelled. Every key of a queue carries the queue name as a Redis
 * Cluster hash tag (`brokkr:{emails}:wait`), so one queue lives in one slot and each script
 * touches a single slot. Scripts that reach job keys they were not given build them from
 * `jobPrefix`, which carries the same tag.
 */
export interface QueueKeys {
  /** list of job ids ready to run; pushed on the left, taken from the right */
  readonly wait: string;
  /** zset of job ids being run, scored by lease deadline (ms, Redis server time) */
  readonly active: string;
  /** zset of delayed job ids, scored by their due time */
  readonly delayed: string;
  /** zset of retrying job ids, scored by when their next try is due */
  readonly retrying: string;
  /** zset of completed job ids, scored by the time their record expires */
  readonly completed: string;
  /** zset of failed job ids, scored by the time their record expires */
  readonly failed: string;
  /** stream of job lifecycle events, capped */
  readonly events: string;
  /** zset with one member: when work may next be runnable (see lua/includes/marker.lua) */
  readonly marker: string;
  /**
   * A key that never exists. Scripts that reach keys they do not declare (job hashes) declare it:
   * while the queue's slot migrates between cluster nodes, Redis then answers TRYAGAIN (some
   * declared keys missing) instead of running the script on a node that holds only part of the
   * queue, and ioredis tries again until the migration is over.
   */
  readonly guard: string;
  /** set of the ids of the queue's recurring schedules */
  readonly schedules: string;
  /** the prefix of a schedule's hash; `schedule(id)` gives the full key */
  readonly schedulePrefix: string;
  schedule(id: string): string;
  /** the prefix of a job's hash; `job(id)` gives the full key */
  readonly jobPrefix: string;
  job(id: string): string;
  /** zset one supervisor's waits also block on, so that it can end them itself (see wake-1.lua) */
  wake(waiter: string): string;
}

/** The name a connection gives itself (CLIENT SETNAME), so `CLIENT LIST` shows who is who. */
export function clientName(prefix: string, role: 'queue' | 'supervisor', id: string): string {
  return `${prefix}:${role}:${id}`;
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}:`;
  const jobPrefix = `${base}job:`;
  return {
    wait: `${base}wait`,
    active: `${base}active`,
    delayed: `${base}delayed`,
    retrying: `${base}retrying`,
    completed: `${base}completed`,
    failed: `${base}failed`,
    events: `${base}events`,
    marker: `${base}marker`,
    guard: `${base}guard`,
    schedules: `${base}schedules`,
    schedulePrefix: `${base}schedule:`,
    schedule: (id: string) => `${base}schedule:${id}`,
    jobPrefix,
    job: (id: string) => jobPrefix + id,
    wake: (waiter: string) => `${base}wake:${waiter}`,
  };
}
