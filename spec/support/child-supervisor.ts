// A supervisor in its own process, for tests that kill it or send it signals.
// argv[2]: JSON { connection, queues, handlers: { jobName: fixtureName }, options }
import { join } from 'node:path';
import type { ConnectionOptions } from '../../lib/config';
import { Supervisor } from '../../lib/supervisor/supervisor';

const config = JSON.parse(process.argv[2]!) as {
  connection: ConnectionOptions;
  queues: string[];
  handlers: Record<string, string>;
  options?: Record<string, unknown>;
};
const handlers = Object.fromEntries(
  Object.entries(config.handlers).map(([name, file]) => [name, join(__dirname, '..', 'fixtures', `${file}.ts`)]),
);
const supervisor = new Supervisor({ connection: config.connection, queues: config.queues, handlers, threads: 1, ...config.options });
for (const event of ['active', 'completed', 'failed', 'requeued', 'stalled', 'dropped', 'canceled'] as const) {
  supervisor.on(event, (e: { job: { id: string } }) => process.stdout.write(`${event} ${e.job.id}\n`));
}
supervisor.start().then(
  () => process.stdout.write('ready\n'),
  (err: unknown) => {
    process.stderr.write(`start failed: ${String(err)}\n`);
    process.exit(1);
  },
);
