import { DEFAULT_PREFIX } from './config';
import { type ScriptName, scriptSources } from './redis/scripts';

/**
 * Who connects: a producer enqueues, reads and lists jobs; an admin also changes and deletes
 * them (queue.retry, retryAll, remove, cancel, clean, drain) and sets flow controls (pause, limits); a
 * supervisor runs them.
 */
export type AclRole = 'producer' | 'admin' | 'supervisor';

/** What every brokkr connection sends besides its own work: ioredis's connection setup and script calls. */
const CONNECTION_COMMANDS = [
  'ping',
  'info', // ioredis's ready check (without it, ioredis prints a warning and skips the check)
  'client|setname', // every connection names itself (see clientName in lib/redis/keys.ts)
  'cluster|slots', // Redis Cluster: the slot map
  'cluster|info', // Redis Cluster: the ready check
  'asking', // Redis Cluster: following an ASK redirection during a slot migration
  'evalsha',
  'eval', // the fallback when a server does not have a script cached yet
];

const ROLE_SCRIPTS: Record<AclRole, readonly ScriptName[]> = {
  producer: ['brokkrEnqueue', 'brokkrCounts', 'brokkrDepLink', 'brokkrDepResolve'],
  admin: [
    'brokkrEnqueue',
    'brokkrCounts',
    'brokkrRetry',
    'brokkrRemove',
    'brokkrClean',
    'brokkrDrain',
    'brokkrScheduleSet',
    'brokkrScheduleRemove',
    'brokkrFlow',
    'brokkrCancel',
    'brokkrDepLink',
    'brokkrDepResolve',
    'brokkrHandoffRead',
    'brokkrHandoffDone',
  ],
  supervisor: [
    'brokkrTurn',
    'brokkrRenew',
    'brokkrExpired',
    'brokkrWake',
    'brokkrScheduleAdvance',
    'brokkrSchedulesStale',
    'brokkrNotes',
    'brokkrDepResolve',
    'brokkrHandoffRead',
    'brokkrHandoffDone',
    'brokkrRegister',
    'brokkrPresence',
    'brokkrCounts', // the Prometheus gauge of each queue's jobs by status, read at scrape time
  ],
};

/** Commands a role sends outside scripts. */
const READER_COMMANDS = [
  'hgetall',
  'hmget',
  'xrevrange',
  'xread',
  'wait',
  'zrange',
  'zcard',
  'zrevrange',
  'smembers',
  'lrange',
  'exists',
  'xinfo|stream',
  'multi',
  'exec',
  'mget', // the registry: supervisors' registrations
  'time', // the metrics' minutes are by the Redis clock
];

const ROLE_COMMANDS: Record<AclRole, readonly string[]> = {
  // getJob, waitForResult (event stream reads), waitForReplicas, getJobs, schedules(), the flow settings, getLogs,
  // whether a dependency exists, QueueEvents (a stream's state and entries read at one moment),
  // getWorkers, getMetrics
  producer: [...READER_COMMANDS],
  admin: [...READER_COMMANDS],
  // the blocking wait for work; CONFIG GET (the durability check at start) is left out on purpose
  // because a supervisor refused it only skips that check
  supervisor: ['bzpopmin'],
};

const CALL = /redis\.p?call\(\s*'([A-Za-z]+)'/g;

/** The commands a role's Lua scripts call: Redis checks those against the user's ACL as well. */
function scriptCommands(role: AclRole): string[] {
  const sources = scriptSources();
  return ROLE_SCRIPTS[role].flatMap((name) => [...sources[name].matchAll(CALL)].map((m) => m[1]!.toLowerCase()));
}

/**
 * The least a Redis ACL user needs to act as `role` under `prefix`: keys under the prefix, no
 * Pub/Sub channels, and only the commands brokkr sends. Give them to ACL SETUSER after `on` and
 * the password, e.g. `ACL SETUSER jobs-producer on >secret ${aclRules('producer').join(' ')}`;
 * on a cluster, on every node. The README lists the rules of the default prefix.
 */
export function aclRules(role: AclRole, options: { prefix?: string } = {}): string[] {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const commands = [...new Set([...CONNECTION_COMMANDS, ...ROLE_COMMANDS[role], ...scriptCommands(role)])];
  return ['resetkeys', `~${prefix}:*`, 'resetchannels', '-@all', ...commands.map((c) => `+${c}`)];
}
