/**
 * The only place a Redis key is spelled. Every key of a queue carries the queue name as a Redis
 * Cluster hash tag (`brokkr:{emails}:wait`), so one queue lives in one slot and each script
 * touches a single slot. Scripts that reach job keys they were not given build them from
 * `jobPrefix`, which carries the same tag.
 */
export interface QueueKeys {
  /** zset of queued job ids without a group, scored by rank (priority * 2^33 + order of arrival) */
  readonly wait: string;
  /** zset of the queued job ids of every group, scored by rank: what counts and listings read */
  readonly grouped: string;
  /** zset: the ring of groups whose jobs may be taken now, scored by turn ('' : jobs without a group) */
  readonly groups: string;
  /** zset: groups their limits hold back, scored by when they may go again (+inf: when a job of theirs ends) */
  readonly groupsParked: string;
  /** hash: active job id -> its group */
  readonly groupOf: string;
  /** hash: group -> how many of its jobs are active */
  readonly groupsRunning: string;
  /** hash: the queue's flow controls (paused, limits, a hold) and its arrival counter */
  readonly control: string;
  /** zset: when jobs started within the rate limit's window (a sliding log) */
  readonly rate: string;
  /** prefix of a group's zset of queued job ids (the group name follows) */
  readonly groupJobsPrefix: string;
  /** prefix of a group's rate log (the group name follows) */
  readonly groupRatePrefix: string;
  /** prefix of a dedupe key (the job option's key follows): a string holding the id of the job that has it */
  readonly dedupePrefix: string;
  /**
   * The keys every script that queues, takes or limits jobs declares first, in this order (see
   * lua/includes/queued.lua `flowKeys`), followed by the group prefixes in `flowPrefixes`.
   */
  readonly flow: readonly string[];
  readonly flowPrefixes: readonly [string, string];
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
  /** zset of deferred job ids (waiting for their dependencies), scored by when they were enqueued */
  readonly deferred: string;
  /** zset of finished jobs whose dependents have not all been told yet, scored by when they finished */
  readonly handoff: string;
  /** zset of canceled job ids, scored by the time their record expires */
  readonly canceled: string;
  /** zset: ids of active jobs asked to cancel (the reason is on the record); their supervisors look here */
  readonly canceling: string;
  /** prefix of a minute's metrics hash (the minute's start, epoch ms, follows; see lib/metrics.ts) */
  readonly metricsPrefix: string;
  /** zset of the supervisors serving the queue, scored by when their registration expires */
  readonly workers: string;
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
  /** list of a job's log lines (ctx.log): its job key followed by `logsSuffix` */
  jobLogs(id: string): string;
  readonly logsSuffix: string;
  /** hash of a dependent job: dependency ref (see depRef) -> that dependency's outcome JSON */
  jobDeps(id: string): string;
  /** set of a job's dependents, as refs */
  jobDependents(id: string): string;
  /** what a job key is followed by to name those two */
  readonly depsSuffix: string;
  readonly dependentsSuffix: string;
  /** zset one supervisor's waits also block on, so that it can end them itself (see wake-1.lua) */
  wake(waiter: string): string;
}

/** The name a connection gives itself (CLIENT SETNAME), so `CLIENT LIST` shows who is who. */
export function clientName(prefix: string, role: 'queue' | 'supervisor' | 'events', id: string): string {
  return `${prefix}:${role}:${id}`;
}

const LOGS_SUFFIX = ':logs';
const DEPS_SUFFIX = ':deps';
const DEPENDENTS_SUFFIX = ':dependents';

/** A job named across queues, as dependency sets and hashes store it: queue names hold no whitespace. */
export function depRef(queue: string, id: string): string {
  return `${queue}\t${id}`;
}

export function parseDepRef(ref: string): { queue: string; id: string } {
  const tab = ref.indexOf('\t');
  return { queue: ref.slice(0, tab), id: ref.slice(tab + 1) };
}

/** Where supervisors register (see lib/redis/observe.ts): its own hash tag, one slot for all of them. */
export interface RegistryKeys {
  /** zset of supervisor ids, scored by when their registration expires */
  readonly index: string;
  /** a supervisor's registration: a JSON string that expires unless renewed */
  supervisor(id: string): string;
}

/** SCAN patterns that find queues by their keys (see lib/redis/discover.ts), and the queue a found key belongs to. */
export function queueKeyPatterns(prefix: string): { anyKey: string; control: string; queueOf(key: string): string } {
  const base = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:{*}:`;
  return {
    anyKey: `${base}*`,
    control: `${base}control`,
    // `brokkr:{emails}:wait` -> `emails`; queue names hold no braces, so the first `}` ends the tag
    queueOf: (key) => {
      const start = prefix.length + 2;
      const end = key.indexOf('}', start);
      return end > start ? key.slice(start, end) : '';
    },
  };
}

export function registryKeys(prefix: string): RegistryKeys {
  const base = `${prefix}:{supervisors}:`;
  return { index: `${base}index`, supervisor: (id: string) => `${base}sup:${id}` };
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}:`;
  const jobPrefix = `${base}job:`;
  const k = {
    wait: `${base}wait`,
    grouped: `${base}grouped`,
    groups: `${base}groups`,
    groupsParked: `${base}groups:parked`,
    groupOf: `${base}groups:of`,
    groupsRunning: `${base}groups:running`,
    control: `${base}control`,
    rate: `${base}rate`,
    groupJobsPrefix: `${base}group:`,
    groupRatePrefix: `${base}group-rate:`,
    dedupePrefix: `${base}dedupe:`,
    active: `${base}active`,
    delayed: `${base}delayed`,
    retrying: `${base}retrying`,
    completed: `${base}completed`,
    failed: `${base}failed`,
    deferred: `${base}deferred`,
    handoff: `${base}handoff`,
    canceled: `${base}canceled`,
    canceling: `${base}canceling`,
    events: `${base}events`,
    metricsPrefix: `${base}metrics:`,
    workers: `${base}workers`,
    marker: `${base}marker`,
    guard: `${base}guard`,
    schedules: `${base}schedules`,
    schedulePrefix: `${base}schedule:`,
    schedule: (id: string) => `${base}schedule:${id}`,
    jobPrefix,
    job: (id: string) => jobPrefix + id,
    jobLogs: (id: string) => jobPrefix + id + LOGS_SUFFIX,
    logsSuffix: LOGS_SUFFIX,
    jobDeps: (id: string) => jobPrefix + id + DEPS_SUFFIX,
    jobDependents: (id: string) => jobPrefix + id + DEPENDENTS_SUFFIX,
    depsSuffix: DEPS_SUFFIX,
    dependentsSuffix: DEPENDENTS_SUFFIX,
    wake: (waiter: string) => `${base}wake:${waiter}`,
  };
  const flow = [k.wait, k.grouped, k.groups, k.groupsParked, k.groupOf, k.groupsRunning, k.control, k.rate, k.marker, k.active];
  return { ...k, flow, flowPrefixes: [k.groupJobsPrefix, k.groupRatePrefix] };
}
