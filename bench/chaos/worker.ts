// One supervisor process of the chaos run; the run kills it at random and starts another.
import { Supervisor } from '../../lib';

const config = JSON.parse(process.argv[2]!) as { url: string; queue: string; handler: string; leaseMs: number };
const supervisor = new Supervisor({
  connection: config.url,
  queues: [config.queue],
  handlers: { record: config.handler },
  threads: 1,
  concurrency: 8,
  leaseMs: config.leaseMs,
  maxStalls: 20, // every kill stalls the jobs in flight; the run must not fail a job for it
  resultTtlMs: 3_600_000,
  eventsMaxLen: 1_000_000,
  retryMaxDelayMs: 500,
  commandTimeoutMs: 1_500,
  logger: { warn: () => undefined, error: (_fields, m: string) => process.stderr.write(`${m}\n`) },
});
supervisor.on('error', (err) => process.stderr.write(`supervisor error: ${err.message}\n`));
supervisor.start().then(() => process.stdout.write('ready\n'));
