// Run in a separate process: reads a job's record and waits for its result, then prints both as JSON.
import { Queue } from '../../lib/queue';

async function main(): Promise<void> {
  const [connection, queueName, id] = process.argv.slice(2);
  const queue = new Queue(queueName!, { connection: JSON.parse(connection!) });
  try {
    const result = await queue.waitForResult(id!, { timeoutMs: 20_000 });
    const info = await queue.getJob(id!);
    process.stdout.write(JSON.stringify({ result, status: info?.status, attempts: info?.attempts }));
  } finally {
    await queue.close();
  }
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
