// A QueueEvents subscriber in its own Node process: prints `ready`, then one JSON line per event
// ({ type, id, payload }), gaps included. argv[2]: JSON { connection, queue, from? }
import type { ConnectionOptions } from '../../lib/config';
import { QueueEvents } from '../../lib/queue-events';
import { STREAM_EVENTS } from '../../lib/states';

const config = JSON.parse(process.argv[2]!) as { connection: ConnectionOptions; queue: string; from?: string };
const events = new QueueEvents(config.queue, { connection: config.connection, ...(config.from ? { from: config.from } : {}) });
for (const type of [...STREAM_EVENTS, 'gap'] as const) {
  events.on(type, (payload: unknown, id?: string) => process.stdout.write(`${JSON.stringify({ type, id, payload })}\n`));
}
events.waitUntilReady().then(() => process.stdout.write('ready\n'));
process.on('SIGTERM', () => void events.close().then(() => process.exit(0)));
