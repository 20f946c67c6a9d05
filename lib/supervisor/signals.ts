import { type Logger, logSafely } from '../logger';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * The first SIGTERM or SIGINT starts a warm shutdown (jobs in flight may finish within the
 * grace); a second one makes it cold (threads terminated, their jobs put back at once). Returns
 * a function that removes the listeners again.
 */
export function onShutdownSignals(close: (cold: boolean) => Promise<void>, logger: Logger): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    const cold = received > 1;
    const what = cold
      ? 'cold shutdown: terminating jobs in flight and putting them back'
      : 'warm shutdown: finishing jobs in flight (send it again to stop at once)';
    logSafely(
      logger,
      'warn',
      { event: cold ? 'supervisor:cold-shutdown' : 'supervisor:warm-shutdown', signal },
      `${signal} received, ${what}`,
    );
    close(cold).catch((err: unknown) =>
      logSafely(logger, 'error', { event: 'supervisor:shutdown-failed' }, `shutdown failed: ${(err as Error)?.message ?? String(err)}`),
    );
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
}
