import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../lib/errors';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, Harness, fixture, memoryLogger, uniqueQueue, waitFor } from './support/helpers';

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
    const sup = h.supervisor({ queues: [name], concurrency: 3, handlers: { sleep: fixture('sleep'), record: fixture('record') } });
    await sup.start();
    const dir = mkdtempSync(join(tmpdir(), 'brokkr-close-'));
    const jobs = await queue.enqueueBulk(Array.from({ length: 3 }, () => ({ name: 'record', data: { dir, ms: 400 } })));
    // started in their threads (`active` fires at dispatch; a job not started yet is rightly put back)
    const started = () => readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)).length;
    await waitFor(() => started() === 3, 10_000, 'three jobs started');
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

  it('close() while jobs keep arriving leaves none of them active: those leased as it began go straight back', async () => {
    for (let round = 0; round < 5; round++) {
      const name = uniqueQueue();
      const queue = h.queue(name);
      const sup = h.supervisor({ queues: [name], threads: 2, concurrency: 2, prefetch: 2, handlers: { sleep: fixture('sleep') } });
      await sup.start();
      let producing = true;
      const producer = (async () => {
        while (producing) await queue.enqueue('sleep', { ms: 30 });
      })();
      await new Promise((r) => setTimeout(r, 100 + round * 37));
      await sup.close();
      producing = false;
      await producer;
      const admin = adminClient();
      try {
        expect(await admin.zcard(queueKeys('brokkr', name).active)).toBe(0);
      } finally {
        admin.disconnect();
      }
    }
  });

  it('closed supervisors and queues reject with ClosedError', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { sleep: fixture('sleep') } });
    await sup.close();
    await expect(sup.start()).rejects.toMatchObject({ code: ErrorCodes.CLOSED, name: 'ClosedError' });
    const job = await queue.enqueue('sleep', { ms: 1 });
    const waiting = queue.waitForResult(job.id);
    await waitFor(() => (queue as unknown as { waiter: { waiting: number } }).waiter.waiting === 1, 5_000, 'the waiter registered');
    const rejected = expect(waiting).rejects.toMatchObject({ code: ErrorCodes.CLOSED, name: 'ClosedError' });
    await queue.close();
    await rejected;
    await expect(queue.getJob(job.id)).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
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
    const admin = adminClient();
    try {
      const blocked = async () => {
        const nodes = 'nodes' in admin ? admin.nodes('all') : [admin];
        const lists = await Promise.all(nodes.map((n) => n.client('LIST') as Promise<string>));
        // a cluster client of the wait holds a connection to every node it knows, blocked on one of them
        const waits = lists.flatMap((l) => l.split('\n')).filter((l) => l.includes(`name=brokkr:supervisor:${sup.id}:work:${name}`));
        return waits.join('\n');
      };
      await waitFor(async () => (await blocked()).includes('cmd=bzpopmin'), 5_000, 'the wait to block');
      expect(await blocked()).toContain('cmd=bzpopmin');
    } finally {
      admin.disconnect();
    }
  });
});
