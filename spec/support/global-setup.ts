import { startEphemeralCluster } from '../../scripts/ephemeral-cluster';
import { startEphemeralRedis } from '../../scripts/ephemeral-redis';

/**
 * The broker the integration suite runs against, shared by the tests (each uses its own queue
 * names): one throwaway Redis, or with BROKKR_TEST_TARGET=cluster a local Redis Cluster of 3
 * masters with a replica each (`npm run test:cluster`). Tests that kill servers start their own.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.BROKKR_TEST_TARGET === 'cluster') {
    const cluster = await startEphemeralCluster();
    (globalThis as { __brokkrStop?: () => Promise<void> }).__brokkrStop = () => cluster.stop();
    process.env.BROKKR_TEST_CONNECTION = JSON.stringify(cluster.connection);
    return;
  }
  const redis = await startEphemeralRedis();
  (globalThis as { __brokkrStop?: () => Promise<void> }).__brokkrStop = () => redis.stop();
  process.env.BROKKR_TEST_CONNECTION = JSON.stringify(redis.url);
}
