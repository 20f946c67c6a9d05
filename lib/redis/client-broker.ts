import type { QueueOptions } from '../config';
import { RedisBroker } from './broker';
import { clientName } from './keys';

/** The broker of a Queue or a QueueEvents: no write policy of its own, named for CLIENT LIST. */
export function clientBroker(
  o: Required<Pick<QueueOptions, 'connection' | 'prefix' | 'commandTimeoutMs' | 'retryMaxDelayMs'>>,
  role: 'queue' | 'events',
  queue: string,
): RedisBroker {
  const { connection, prefix, commandTimeoutMs, retryMaxDelayMs } = o;
  return new RedisBroker({ connection, prefix, clientName: clientName(prefix, role, queue), commandTimeoutMs, retryMaxDelayMs });
}
