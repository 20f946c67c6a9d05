import { ValidationError } from './errors';
import type { SupervisorOptions } from './config';

/**
 * The environment variables the demo and the CLI read (documented in .env.example). The library
 * itself never reads the environment: options passed in code are the whole configuration.
 */
const INT_VARS = {
  BROKKR_CONCURRENCY: 'concurrency',
  BROKKR_THREADS: 'threads',
  BROKKR_DEFAULT_TIMEOUT_MS: 'defaultTimeoutMs',
  BROKKR_TIMEOUT_GRACE_MS: 'timeoutGraceMs',
  BROKKR_RESULT_TTL_MS: 'resultTtlMs',
  BROKKR_FAILED_TTL_MS: 'failedTtlMs',
  BROKKR_KEEP_COMPLETED: 'keepCompleted',
  BROKKR_KEEP_FAILED: 'keepFailed',
  BROKKR_MAX_LOG_LINES: 'maxLogLines',
  BROKKR_LEASE_MS: 'leaseMs',
  BROKKR_HEARTBEAT_MS: 'heartbeatMs',
  BROKKR_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  BROKKR_MAX_MEMORY_MB: 'maxMemoryMb',
  BROKKR_MAX_STALLS: 'maxStalls',
  BROKKR_RECYCLE_AFTER_JOBS: 'recycleAfterJobs',
} as const satisfies Record<string, keyof SupervisorOptions>;

export type EnvSupervisorOptions = Partial<
  Pick<SupervisorOptions, (typeof INT_VARS)[keyof typeof INT_VARS] | 'connection' | 'prefix' | 'queues'>
>;

export function supervisorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EnvSupervisorOptions {
  const out: EnvSupervisorOptions = {};
  if (env.REDIS_URL) out.connection = env.REDIS_URL;
  if (env.BROKKR_PREFIX) out.prefix = env.BROKKR_PREFIX;
  if (env.BROKKR_QUEUES)
    out.queues = env.BROKKR_QUEUES.split(',')
      .map((q) => q.trim())
      .filter(Boolean);
  for (const [name, field] of Object.entries(INT_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw.trim()))
      throw new ValidationError(`environment variable ${name} must be a whole number, got ${JSON.stringify(raw)}`);
    out[field] = Number(raw);
  }
  return out;
}
