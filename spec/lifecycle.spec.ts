import { Redis } from 'ioredis';
import { RedisBroker } from '../lib/redis/broker';
import { Harness, fixture, memoryLogger, redisUrl, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('supervisor lifecycle', () => {
  it('emits active, then completed or failed, once per job, in order', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], concurrency: 4, handlers: { sleep: fixture('sleep'), throws: fixture('throws') } });
    const log: string[] = [];
    sup.on('active', (e) => log.push(`${e.job.id} active ${e.job.attempt}`));
    sup.on('completed', (e) => log.push(`${e.job.id} completed ${JSON.stringify(e.result)}`));
    sup.on('failed', (e) => log.push(`${e.job.id} failed ${e.error.name}`));
    await sup.start();
    const jobs = await queue.enqueueBulk(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0 ? { name: 'throws', data: { kind: 'error' } } : { name: 'sleep', data: { ms: i % 7, value: i } },
      ),
    );
    await waitFor(() => log.length === 60, 15_000, '60 events');
    jobs.forEach((job, i) => {
      const mine = log.filter((l) => l.startsWith(job.id));
      expect(mine).toEqual([`${job.id} active 1`, i % 3 === 0 ? `${job.id} failed TypeError` : `${job.id} completed ${i}`]);
    });
  });

  it('close() waits for jobs in flight, records them, and is idempotent', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], concurrency: 3, handlers: { sleep: fixture('sleep') } });
    let active = 0;
    sup.on('active', () => active++);
    await sup.start();
    const jobs = await queue.enqueueBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'sleep', data: { ms: 400, value: i } })));
    await waitFor(() => active === 3, 10_000, 'three jobs active');
    const first = sup.close();
    const second = sup.close();
    expect(second).toBe(first);
    await first;
    expect(sup.running).toBe(0);
    for (const job of jobs) expect(await queue.getJob(job.id)).toMatchObject({ status: 'completed' });
    // after close nothing more is fetched
    const late = await queue.enqueue('sleep', { ms: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await queue.getJob(late.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('close() past shutdownGraceMs terminates jobs and puts them back without charging an attempt', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], shutdownGraceMs: 200, handlers: { spin: fixture('spin') } });
    const requeued: string[] = [];
    sup.on('requeued', (e) => requeued.push(`${e.job.id} ${e.reason}`));
    await sup.start();
    const job = await queue.enqueue('spin', null, { timeoutMs: 0 });
    await waitFor(async () => (await queue.getJob(job.id))?.status === 'active', 10_000, 'job active');
    await sup.close();
    expect(requeued).toEqual([`${job.id} shutdown`]);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('a listener that throws is logged and the loop goes on', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const logger = memoryLogger();
    const sup = h.supervisor({ queues: [name], logger, handlers: { sleep: fixture('sleep') } });
    sup.on('completed', () => {
      throw new Error('listener bug');
    });
    await sup.start();
    const jobs = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 1, value: 1 } },
      { name: 'sleep', data: { ms: 1, value: 2 } },
    ]);
    await expect(Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 10_000 })))).resolves.toEqual([1, 2]);
    await waitFor(() => logger.lines.filter((l) => l.includes('listener bug')).length === 2, 5_000, 'two logged listener errors');
  });

  it('an idle supervisor blocks instead of polling', async () => {
    const name = uniqueQueue();
    const sup = h.supervisor({ queues: [name], handlers: { sleep: fixture('sleep') } });
    await sup.start();
    const admin = new Redis(redisUrl());
    try {
      await new Promise((r) => setTimeout(r, 300));
      const clients = (await admin.client('LIST')) as string;
      const blocking = clients.split('\n').find((l) => l.includes(`name=brokkr:supervisor:${sup.id}:work:${name}`));
      expect(blocking).toContain('cmd=blmove');
    } finally {
      admin.disconnect();
    }
  });
});

describe('broker scripts', () => {
  it('enqueue is idempotent per job id: a resent write does not make a second job', async () => {
    const name = uniqueQueue();
    const broker = new RedisBroker(redisUrl(), 'brokkr', 'test', { commandTimeoutMs: 5_000, retryMaxDelayMs: 500 });
    try {
      const job = { id: 'fixed-id', name: 'echo', data: '1', opts: {} };
      expect(await broker.enqueue(name, [job])).toBe(1);
      expect(await broker.enqueue(name, [job])).toBe(0);
      expect(await broker.redis.llen(broker.keys(name).wait)).toBe(1);
    } finally {
      await broker.close();
    }
  });

  it('a fetch leases with a token that later writes must present', async () => {
    const name = uniqueQueue();
    const broker = new RedisBroker(redisUrl(), 'brokkr', 'test', { commandTimeoutMs: 5_000, retryMaxDelayMs: 500 });
    try {
      await broker.enqueue(name, [{ id: 'j1', name: 'echo', data: '1', opts: { timeoutMs: 5 } }]);
      const { jobs } = await broker.fetch(name, 10, 'owner-a', 'tok', 30_000);
      expect(jobs).toEqual([
        { id: 'j1', token: 'tok.1', name: 'echo', data: '1', attempt: 1, timeoutMs: 5, createdAt: expect.any(Number) },
      ]);
      const deadline = Number(await broker.redis.zscore(broker.keys(name).active, 'j1'));
      expect(deadline).toBeGreaterThan(Date.now() + 25_000);
      const outcome = { id: 'j1', status: 'completed' as const, payload: '2', defaultTtlMs: 1000, name: 'echo', attempt: 1 };
      expect((await broker.finish(name, [{ ...outcome, token: 'wrong' }], 100)).written).toEqual([false]);
      expect((await broker.finish(name, [{ ...outcome, token: 'tok.1' }], 100)).written).toEqual([true]);
      // the same run writing again (a retry after a lost reply) is told it is written, and changes nothing
      expect((await broker.finish(name, [{ ...outcome, token: 'tok.1', payload: '3' }], 100)).written).toEqual([true]);
      expect(await broker.redis.hget(broker.keys(name).job('j1'), 'result')).toBe('2');
      expect((await broker.finish(name, [{ ...outcome, token: 'tok.2' }], 100)).written).toEqual([false]);
      expect(await broker.redis.zcard(broker.keys(name).active)).toBe(0);
      expect(await broker.redis.zscore(broker.keys(name).completed, 'j1')).not.toBeNull();
    } finally {
      await broker.close();
    }
  });
});
