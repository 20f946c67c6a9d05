/**
 * The thread pool alone, with no broker: how many no-op jobs per second the main thread and its
 * worker threads pass through when jobs are always ready. A diagnostic, not part of the suite:
 * `node dist/bench/suite/pool-only.js <concurrency> <seconds> [threads]`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobPool, type PoolJob } from '../../lib/pool/pool';

async function main(): Promise<void> {
  const [c = '8', seconds = '3', threads = '2'] = process.argv.slice(2);
  const ext = __filename.endsWith('.ts') ? 'ts' : 'js';
  let made = 0;
  let done = 0;
  const job = (): PoolJob => ({ id: `j${made++}`, queue: 'q', name: 'noop', data: 'null', attempt: 1, timeoutMs: 180_000 });
  const pool: JobPool<PoolJob> = new JobPool<PoolJob>(
    {
      threads: Number(threads),
      concurrency: Number(c),
      handlers: { noop: pathToFileURL(join(__dirname, '..', 'handlers', `noop.${ext}`)).href },
      timeoutGraceMs: 1000,
      maxResultBytes: 1 << 20,
      recycleAfterJobs: 0,
      threadIdleMs: 60_000,
    },
    {
      waiting: () => 1_000_000,
      take: (max) => Array.from({ length: max }, job),
      giveBack: () => undefined,
      queueAhead: () => true,
      dispatched: () => undefined,
      settled: () => {
        done++;
      },
      noted: () => undefined,
      error: (err) => process.stderr.write(`${err.message}\n`),
    },
  );
  await pool.start();
  pool.offer();
  const t0 = performance.now();
  const d0 = done;
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  const rate = ((done - d0) / (performance.now() - t0)) * 1000;
  process.stdout.write(`pool only, C=${c}, ${threads} threads: ${Math.round(rate)} jobs/s\n`);
  await pool.destroy();
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
