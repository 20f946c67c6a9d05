import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { startEphemeralRedis, type EphemeralRedis } from '../scripts/ephemeral-redis';
import { ErrorCodes } from '../lib/errors';
import { Queue } from '../lib/queue';
import { QueueEvents } from '../lib/queue-events';
import { scriptSources } from '../lib/redis/scripts';
import { Supervisor } from '../lib/supervisor/supervisor';
import type { SupervisorOptions } from '../lib/config';
import { fixture, memoryLogger, uniqueQueue, waitFor } from './support/helpers';

let redis: EphemeralRedis;
const closers: (() => Promise<void>)[] = [];
beforeEach(async () => {
  redis = await startEphemeralRedis({ appendOnly: true });
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await redis.stop();
});

function queue(name: string, options: { brokerWaitMs?: number } = {}): Queue {
  const q = new Queue(name, { connection: redis.url, retryMaxDelayMs: 200, ...options });
  closers.push(() => q.close());
  return q;
}

function supervisor(options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'queues'>) {
  const logger = memoryLogger();
  const sup = new Supervisor({
    connection: redis.url,
    threads: 1,
    logger,
    retryMaxDelayMs: 200,
    commandTimeoutMs: 1_000,
    handlers: { sleep: fixture('sleep') },
    ...options,
  });
  const seen: string[] = [];
  sup.on('broker:down', () => seen.push('down'));
  sup.on('broker:up', (e) => seen.push(`up after ${e.downtimeMs >= 0 ? 'some' : 'negative'} ms`));
  sup.on('stalled', (e) => seen.push(`stalled ${e.job.id}`));
  sup.on('completed', (e) => seen.push(`completed ${e.job.id}`));
  sup.on('error', (e) => seen.push(`error ${e.message}`));
  closers.push(() => sup.close());
  return { sup, seen, logger };
}

// the script a restarted Redis must be given again
const turnSha = createHash('sha1').update(scriptSources().brokkrTurn).digest('hex');

describe('Redis goes away and comes back', () => {
  it("survives a SIGKILL and restart: the running job's outcome is held and written, scripts reload, fetching resumes", async () => {
    const name = uniqueQueue();
    const q = queue(name);
    const { sup, seen } = supervisor({ queues: [name] });
    await sup.start();
    const running = await q.enqueue('sleep', { ms: 2_500, value: 'held through the outage' });
    await waitFor(async () => (await q.getJob(running.id))?.status === 'active', 10_000, 'job active');

    redis.signal('SIGKILL');
    await waitFor(() => seen.includes('down'), 10_000, 'broker:down');
    await new Promise((r) => setTimeout(r, 1_000));
    await redis.restart();
    const admin = new Redis(redis.url);
    try {
      expect(await admin.script('EXISTS', turnSha)).toEqual([0]); // a restarted Redis has no scripts cached
    } finally {
      admin.disconnect();
    }

    await expect(q.waitForResult(running.id, { timeoutMs: 20_000 })).resolves.toBe('held through the outage');
    const after = await q.enqueue('sleep', { ms: 1, value: 'after' });
    await expect(q.waitForResult(after.id, { timeoutMs: 20_000 })).resolves.toBe('after');
    expect(seen.filter((s) => s === 'down')).toHaveLength(1);
    expect(seen.filter((s) => s.startsWith('up'))).toHaveLength(1);
    expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
    expect(await q.getJob(running.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('notices a stalled Redis (SIGSTOP) through command timeouts, and resumes after SIGCONT', async () => {
    const name = uniqueQueue();
    const q = queue(name);
    const { sup, seen } = supervisor({ queues: [name], leaseMs: 1_500 });
    await sup.start();
    const job = await q.enqueue('sleep', { ms: 1_500, value: 'stall survived' });
    await waitFor(async () => (await q.getJob(job.id))?.status === 'active', 10_000, 'job active');
    redis.signal('SIGSTOP');
    await waitFor(() => seen.includes('down'), 10_000, 'broker:down from a command timeout');
    await new Promise((r) => setTimeout(r, 1_500));
    redis.signal('SIGCONT');
    await expect(q.waitForResult(job.id, { timeoutMs: 20_000 })).resolves.toBe('stall survived');
    await waitFor(() => seen.some((s) => s.startsWith('up')), 10_000, 'broker:up');
    expect(seen.filter((s) => s === 'down')).toHaveLength(1);
    expect(await q.getJob(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it("after an outage longer than a lease, supervisors keep their own jobs instead of reaping each other's", async () => {
    const name = uniqueQueue();
    const q = queue(name);
    const a = supervisor({ queues: [name], leaseMs: 1_500 });
    const b = supervisor({ queues: [name], leaseMs: 1_500 });
    await a.sup.start();
    await b.sup.start();
    const jobs = await q.enqueueBulk([
      { name: 'sleep', data: { ms: 5_000, value: 1 } },
      { name: 'sleep', data: { ms: 5_000, value: 2 } },
    ]);
    await waitFor(
      async () => (await Promise.all(jobs.map((j) => q.getJob(j.id)))).every((i) => i?.status === 'active'),
      10_000,
      'both active',
    );
    redis.signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_500)); // longer than the 1.5 s lease
    await redis.restart();
    await expect(Promise.all(jobs.map((j) => q.waitForResult(j.id, { timeoutMs: 20_000 })))).resolves.toEqual([1, 2]);
    expect([...a.seen, ...b.seen].filter((s) => s.startsWith('stalled'))).toEqual([]);
    for (const j of jobs) expect(await q.getJob(j.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('a waiter registered before the outage gets its result after it', async () => {
    const name = uniqueQueue();
    const q = queue(name);
    const job = await q.enqueue('sleep', { ms: 1, value: 'worth the wait' });
    const waiting = q.waitForResult(job.id, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    redis.signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    const { sup } = supervisor({ queues: [name] });
    await sup.start();
    await expect(waiting).resolves.toBe('worth the wait');
  });
});

describe('QueueEvents through an outage', () => {
  it('a subscriber reads on after Redis is killed and restarted, without a gap and without losing an event', async () => {
    const name = uniqueQueue();
    const q = queue(name);
    const events = new QueueEvents(name, { connection: redis.url, retryMaxDelayMs: 200, commandTimeoutMs: 1_000 });
    closers.push(() => events.close());
    const seen: string[] = [];
    events.on('added', (e) => seen.push(`added ${e.job.id}`));
    events.on('gap', () => seen.push('gap'));
    events.on('broker:down', () => seen.push('down'));
    events.on('broker:up', () => seen.push('up'));
    await events.waitUntilReady();
    const before = await q.enqueue('sleep', { ms: 1 });
    await waitFor(() => seen.includes(`added ${before.id}`), 5_000, 'the first event');

    redis.signal('SIGKILL');
    await waitFor(() => seen.includes('down'), 10_000, 'broker:down');
    await redis.restart();
    const after = await q.enqueue('sleep', { ms: 1 });
    await waitFor(() => seen.includes(`added ${after.id}`), 15_000, 'the event written after the restart');
    expect(seen).toEqual([`added ${before.id}`, 'down', 'up', `added ${after.id}`]);
  });
});

describe('waiters during an outage', () => {
  it('waitForResult retries within brokerWaitMs, then rejects with BrokerUnavailableError and leaves no waiter behind', async () => {
    const name = uniqueQueue();
    const q = queue(name, { brokerWaitMs: 800 });
    const job = await q.enqueue('sleep', { ms: 1 }); // connected before the outage
    redis.signal('SIGKILL');
    const started = Date.now();
    await expect(q.waitForResult(job.id, { timeoutMs: 30_000 })).rejects.toMatchObject({ code: ErrorCodes.BROKER_UNAVAILABLE });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect((q as unknown as { waiter: { waiting: number } }).waiter.waiting).toBe(0);
    // back within brokerWaitMs, a wait succeeds
    await redis.restart();
    const { sup } = supervisor({ queues: [name] });
    await sup.start();
    const again = q.waitForResult(job.id, { timeoutMs: 20_000 });
    await expect(again).resolves.toBe(1);
  });
});

describe('producers during an outage', () => {
  it('enqueue waits for Redis to come back within brokerWaitMs, and never reports success for an unwritten job', async () => {
    const name = uniqueQueue();
    const q = queue(name, { brokerWaitMs: 8_000 });
    await q.enqueue('sleep', { ms: 1 }); // connected before the outage
    redis.signal('SIGKILL');
    const pending = q.enqueue('sleep', { ms: 1, value: 'late but accepted' });
    await new Promise((r) => setTimeout(r, 1_000));
    await redis.restart();
    const ref = await pending;
    expect(await q.getJob(ref.id)).toMatchObject({ status: 'queued', data: { ms: 1, value: 'late but accepted' } });

    const impatient = queue(name, { brokerWaitMs: 500 });
    await impatient.getJob('warm-up');
    redis.signal('SIGKILL');
    const started = Date.now();
    await expect(impatient.enqueue('sleep', { ms: 1 })).rejects.toMatchObject({
      code: ErrorCodes.BROKER_UNAVAILABLE,
      message: expect.stringContaining('not accepted'),
    });
    expect(Date.now() - started).toBeLessThan(8_000);
    await redis.restart();
    const admin = new Redis(redis.url);
    try {
      expect(await admin.zcard(`brokkr:{${name}}:wait`)).toBe(2); // the two accepted jobs, nothing else
    } finally {
      admin.disconnect();
    }
  });
});

describe('durability settings', () => {
  it('warns once at start when Redis runs without AOF, and not when it is set safely', async () => {
    const unsafe = await startEphemeralRedis();
    try {
      const logger = memoryLogger();
      const sup = new Supervisor({
        connection: unsafe.url,
        queues: [uniqueQueue()],
        threads: 1,
        logger,
        handlers: { sleep: fixture('sleep') },
      });
      await sup.start();
      await waitFor(() => logger.lines.some((l) => l.includes('appendonly is "no"')), 10_000, 'the warning');
      await sup.close();
    } finally {
      await unsafe.stop();
    }
    const { sup, logger } = supervisor({ queues: [uniqueQueue()] });
    await sup.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(logger.lines.filter((l) => l.includes('unsafely'))).toEqual([]);
  });
});
