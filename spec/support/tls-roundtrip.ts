// Run in a process of its own (its CA comes from NODE_EXTRA_CA_CERTS): a job through a rediss:// URL.
import { join } from 'node:path';
import { Queue, Supervisor } from '../../lib';

async function main(): Promise<void> {
  const url = process.argv[2]!;
  const queue = new Queue('tls-url', { connection: url, brokerWaitMs: 5_000 });
  const supervisor = new Supervisor({
    connection: url,
    queues: ['tls-url'],
    threads: 1,
    handlers: { echo: join(__dirname, '..', 'fixtures', 'echo.ts') },
    logger: { warn: () => undefined, error: () => undefined },
  });
  try {
    await supervisor.start();
    const job = await queue.enqueue('echo', 'over rediss://');
    const result = (await queue.waitForResult(job.id, { timeoutMs: 10_000 })) as { data: unknown };
    process.stdout.write(JSON.stringify(result.data));
  } finally {
    await supervisor.close();
    await queue.close();
  }
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
