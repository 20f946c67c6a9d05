/**
 * `npm run bench`: no-op job throughput of brokkr at several concurrencies, on one throwaway Redis
 * (or REDIS_URL). Jobs are enqueued before the clock starts; the clock runs from the moment the
 * supervisor's threads are up to the last completion. Start-up is reported on its own.
 * Options: --jobs N (default 20000), --concurrency 1,8,64, --threads N (default 2), --quick.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, Supervisor } from '../lib';
import { startEphemeralRedis } from '../lib/devtools/ephemeral-redis';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '1,8,64' },
    threads: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});
const jobs = values.quick ? 5_000 : Number(values.jobs);
const threads = Number(values.threads);
const levels = values.concurrency.split(',').map(Number);

interface Row { concurrency: number; enqueuePerSec: number; startupMs: number; jobsPerSec: number; }

async function runOnce(url: string, concurrency: number): Promise<Row> {
  const name = `bench-${concurrency}-${Date.now().toString(36)}`;
  const queue = new Queue(name, { connection: url });
  const batch = Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: i }));
  const enqueueStart = process.hrtime.bigint();
  await queue.enqueueBulk(batch);
  const enqueueMs = Number(process.hrtime.bigint() - enqueueStart) / 1e6;

  const supervisor = new Supervisor({
    connection: url, queues: [name], threads, concurrency, resultTtlMs: 60_000,
    handlers: { noop: join(__dirname, 'handlers', 'noop.js') },
  });
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  supervisor.on('completed', () => {
    if (++done === jobs) finished();
  });
  supervisor.on('failed', (e) => {
    throw new Error(`a no-op job failed: ${e.error.message}`);
  });
  const startupStart = process.hrtime.bigint();
  await supervisor.start();
  const runStart = process.hrtime.bigint();
  await allDone;
  const runMs = Number(process.hrtime.bigint() - runStart) / 1e6;
  await supervisor.close();
  await queue.close();
  return {
    concurrency,
    enqueuePerSec: Math.round(jobs / (enqueueMs / 1000)),
    startupMs: Math.round(Number(runStart - startupStart) / 1e6),
    jobsPerSec: Math.round(jobs / (runMs / 1000)),
  };
}

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL ? null : await startEphemeralRedis();
  const url = process.env.REDIS_URL ?? redis!.url;
  process.stdout.write(`brokkr throughput: ${jobs.toLocaleString('en')} no-op jobs, ${threads} threads, Node ${process.version}\n\n`);
  const rows: Row[] = [];
  for (const c of levels) rows.push(await runOnce(url, c));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  process.stdout.write(`${line(['concurrency', 'jobs/s', 'start-up ms', 'enqueueBulk jobs/s'])}\n${line(['---:', '---:', '---:', '---:'])}\n`);
  for (const r of rows) {
    process.stdout.write(`${line([String(r.concurrency), r.jobsPerSec.toLocaleString('en'), String(r.startupMs), r.enqueuePerSec.toLocaleString('en')])}\n`);
  }
  await redis?.stop();
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
