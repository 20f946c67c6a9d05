import { startEphemeralRedis } from '../../scripts/ephemeral-redis';

/**
 * One throwaway Redis for the plain tests; they use unique queue names, so they share it safely.
 * Fault tests start their own servers, since they kill them.
 */
export default async function globalSetup(): Promise<void> {
  const redis = await startEphemeralRedis();
  (globalThis as { __brokkrRedis?: unknown }).__brokkrRedis = redis;
  process.env.BROKKR_TEST_REDIS_URL = redis.url;
}
