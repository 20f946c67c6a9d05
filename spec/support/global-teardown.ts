import type { EphemeralRedis } from '../../scripts/ephemeral-redis';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __brokkrRedis?: EphemeralRedis }).__brokkrRedis?.stop();
}
