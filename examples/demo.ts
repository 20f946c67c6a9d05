/**
 * `npm start`: a supervisor runs a batch of example jobs, one of which hangs forever and one of
 * which throws twice before it succeeds on a retry, and prints what happened to each. Uses REDIS_URL when set; otherwise it starts a
 * throwaway redis-server (installing Debian's package when run as root and it is missing).
 */
import { join } from 'node:path';
import { Queue, Supervisor, supervisorOptionsFromEnv, type JobRef } from '../lib';
import { startEphemeralRedis, type EphemeralRedis } from '../scripts/ephemeral-redis';

const QUEUE = `demo-${Date.now().toString(36)}`;
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(2).padStart(6)}s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  let redis: EphemeralRedis | null = null;
  let url = process.env.REDIS_URL;
  if (!url) {
    redis = await startEphemeralRedis();
    url = redis.url;
    say(`Started a throwaway redis-server at ${url} (set REDIS_URL to use your own).`);
  }
  const handler = (file: string) => join(__dirname, 'handlers', `${file}.js`);
  const settings = { threads: 2, concurrency: 4, defaultTimeoutMs: 10_000, timeoutGraceMs: 500, ...supervisorOptionsFromEnv() };
  const supervisor = new Supervisor({
    ...settings,
    connection: url,
    queues: [QUEUE],
    handlers: {
      'send-email': handler('send-email'),
      checksum: handler('checksum'),
      'flaky-report': handler('flaky-report'),
      stuck: handler('stuck'),
    },
  });
  const queue = new Queue(QUEUE, { connection: url });
  const label = new Map<string, string>();
  const tag = (id: string) => label.get(id) ?? id;
  let requeued = 0;

  supervisor
    .on('active', (e) => say(`${clock()}  ▶ ${tag(e.job.id)} started (attempt ${e.job.attempt})`))
    .on('completed', (e) => say(`${clock()}  ✔ ${tag(e.job.id)} completed: ${JSON.stringify(e.result)}`))
    .on('timeout', (e) =>
      say(`${clock()}  ⏱ ${tag(e.job.id)} passed its ${e.timeoutMs} ms timeout: its thread was terminated and replaced`),
    )
    .on('failed', (e) => say(`${clock()}  ✖ ${tag(e.job.id)} failed: ${e.error.name}: ${e.error.message}`))
    .on('retrying', (e) =>
      say(`${clock()}  ↻ ${tag(e.job.id)} try ${e.job.attempt} failed (${e.error.message}); retrying in ${e.delayMs} ms`),
    )
    .on('requeued', (e) => {
      requeued++;
      say(`${clock()}  ↺ ${tag(e.job.id)} put back to waiting (${e.reason}), no attempt charged`);
    });

  say(`Starting a supervisor: ${settings.threads} threads, ${settings.concurrency} jobs in flight, queue "${QUEUE}".`);
  await supervisor.start();

  const jobs: { ref: JobRef; what: string }[] = [];
  const add = async (name: string, data: unknown, what: string, opts = {}) => {
    const ref = await queue.enqueue(name, data, opts);
    label.set(ref.id, `#${jobs.length + 1} ${name}`);
    jobs.push({ ref, what });
  };
  for (const to of ['ada@example.com', 'grace@example.com', 'linus@example.com', 'barbara@example.com']) {
    await add('send-email', { to, subject: 'Welcome' }, `email to ${to}`);
  }
  await add('stuck', {}, 'a handler stuck in an endless loop, 1.5 s timeout', { timeoutMs: 1_500 });
  for (const rounds of [200_000, 400_000, 600_000]) await add('checksum', { rounds }, `${rounds.toLocaleString('en')} sha256 rounds (CPU)`);
  await add('flaky-report', { month: '2026-11' }, 'throws twice; attempts 3, exponential backoff', {
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 200 },
  });
  for (const to of ['alan@example.com', 'margaret@example.com']) await add('send-email', { to, subject: 'Digest' }, `email to ${to}`);
  say(`Enqueued ${jobs.length} jobs.\n`);

  const outcomes = await Promise.all(
    jobs.map(({ ref }) =>
      queue.waitForResult(ref.id, { timeoutMs: 60_000 }).then(
        () => 'ok',
        (err: Error) => err.message,
      ),
    ),
  );
  await supervisor.close();

  say('\nSummary (read back from Redis, as any other process could):');
  say(`${'job'.padEnd(18)} ${'status'.padEnd(10)} ${'attempts'.padEnd(8)} ${'ran for'.padStart(8)}  what / outcome`);
  for (const [i, { ref, what }] of jobs.entries()) {
    const info = await queue.getJob(ref.id);
    const ran = info?.finishedAt && info.startedAt ? `${info.finishedAt - info.startedAt} ms` : '-';
    const outcome = info?.status === 'completed' ? JSON.stringify(info.result) : `${info?.error?.name}: ${info?.error?.message}`;
    say(
      `${tag(ref.id).padEnd(18)} ${String(info?.status).padEnd(10)} ${String(info?.attempts).padEnd(8)} ${ran.padStart(8)}  ${what}\n${''.padEnd(48)}→ ${outcome.slice(0, 90)}`,
    );
    if (outcomes[i] !== 'ok' && info?.status === 'completed') throw new Error(`inconsistent outcome for ${ref.id}`);
  }
  const counts = { completed: 0, failed: 0 } as Record<string, number>;
  for (const { ref } of jobs) {
    const s = (await queue.getJob(ref.id))?.status ?? 'missing';
    counts[s] = (counts[s] ?? 0) + 1;
  }
  say(`\n${jobs.length} jobs: ${counts.completed} completed, ${counts.failed} failed (the one that timed out), in ${clock().trim()}.`);
  say('The flaky report failed twice and was retried after 200 ms, then 400 ms; its third try succeeded.');
  say(
    `The stuck job's thread was terminated and replaced; ${requeued} job(s) that shared that thread were put back and ran again without losing an attempt.`,
  );
  say('Full isolation is concurrency <= threads (set BROKKR_CONCURRENCY=2 to see it). The README explains every option.');
  await queue.close();
  await redis?.stop();
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
