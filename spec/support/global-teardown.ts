export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __brokkrStop?: () => Promise<void> }).__brokkrStop?.();
}
