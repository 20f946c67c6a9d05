// The stability case's supervisor, alone in its process so that its RSS is brokkr's own.
// argv: redis url, first, total. Prints [rss after first, rss after total]; leaves Redis's
// used memory at both points in the key bench:stability:redis.
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { Queue, Supervisor } from '../../lib';

const [url, firstArg, totalArg] = process.argv.slice(2) as [string, string, string];
const ttlMs = 2_000;
const leaseMs = 3_000; // a heartbeat (which trims the registries) every second

async function main(): Promise<void> {
  const name = `bench-stability-${Date.now().toString(36)}`;
  const handler = join(__dirname, '..', 'handlers', __filename.endsWith('.ts') ? 'noop.ts' : 'noop.js');
  const admin = new Redis(url);
  const queue = new Queue(name, { connection: url });
  const supervisor = new Supervisor({
    connection: url,
    queues: [name],
    threads: 2,
    concurrency: 64,
    resultTtlMs: ttlMs,
    leaseMs,
    handlers: { noop: handler },
    logger: { warn: () => undefined, error: () => undefined },
  });
  let done = 0;
  let target = 0;
  let reached: () => void = () => undefined;
  supervisor.on('completed', () => {
    if (++done === target) reached();
  });
  await supervisor.start();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const runTo = async (n: number) => {
    target = n;
    const allDone = new Promise<void>((resolve) => (reached = resolve));
    for (let sent = done; sent < n; sent += 1000) {
      await queue.enqueueBulk(Array.from({ length: Math.min(1000, n - sent) }, () => ({ name: 'noop', data: null })));
    }
    await allDone;
    await new Promise((r) => setTimeout(r, ttlMs + 2 * (leaseMs / 3) + 1_000)); // records expire, a heartbeat trims
    gc();
    return { rss: process.memoryUsage().rss, redis: Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]) };
  };
  const a = await runTo(Number(firstArg));
  const b = await runTo(Number(totalArg));
  await supervisor.close();
  await queue.close();
  await admin.set('bench:stability:redis', `${a.redis},${b.redis}`);
  admin.disconnect();
  process.stdout.write(`${JSON.stringify([a.rss, b.rss])}\n`);
}

main().catch((err) => {
  process.stderr.write(`stability child failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
