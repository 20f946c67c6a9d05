import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../lib/errors';
import { Harness, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('threads pull their jobs', () => {
  it('no job waits behind a thread whose event loop is blocked while another thread has room', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 2, concurrency: 4, handlers: { spin: fixture('spin'), sleep: fixture('sleep') } });
    const requeued: string[] = [];
    const active = new Set<string>();
    sup.on('requeued', (e) => requeued.push(e.job.id));
    sup.on('active', (e) => active.add(e.job.id));
    await sup.start();
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 3_000 });
    await waitFor(() => active.has(stuck.id), 10_000, 'the spinning job to start');
    const short = await queue.enqueueBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'sleep', data: { ms: 20, value: i } })));
    await expect(Promise.all(short.map((j) => queue.waitForResult(j.id, { timeoutMs: 15_000 })))).resolves.toEqual(short.map((_, i) => i));
    // all 50 finished on the other thread while the spinning one still ran
    expect(await queue.getJob(stuck.id)).toMatchObject({ status: 'active' });
    expect(requeued).toEqual([]);
    await expect(queue.waitForResult(stuck.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    expect(requeued).toEqual([]);
  });
});

describe('concurrency means jobs in flight', () => {
  it('runs four async jobs at once on two threads, also right after a timeout replaced a thread', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 2,
      concurrency: 4,
      timeoutGraceMs: 50,
      handlers: { barrier: fixture('barrier'), spin: fixture('spin') },
    });
    await sup.start();
    const round = async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'brokkr-barrier-')), 'b');
      const jobs = await queue.enqueueBulk(Array.from({ length: 4 }, () => ({ name: 'barrier', data: { dir, n: 4 } })));
      return Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 15_000 })));
    };
    await expect(round()).resolves.toEqual([4, 4, 4, 4]);
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 200 });
    await expect(queue.waitForResult(stuck.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    await expect(round()).resolves.toEqual([4, 4, 4, 4]);
  });

  it('runs every prefetched job, with slots freeing while fetches are out', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 2,
      concurrency: 8,
      prefetch: 8,
      fetchBatchSize: 3,
      handlers: { sleep: fixture('sleep') },
    });
    await sup.start();
    // every round ends with a fetch that finds the queue empty while the last runs finish
    for (let round = 0; round < 30; round++) {
      const jobs = await queue.enqueueBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'sleep', data: { ms: i % 2, value: i } })));
      await expect(Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 10_000 })))).resolves.toEqual(jobs.map((_, i) => i));
    }
  });

  it('close() puts prefetched jobs that never started straight back, without an attempt', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, concurrency: 1, prefetch: 3, handlers: { record: fixture('record') } });
    const requeued: string[] = [];
    sup.on('requeued', (e) => requeued.push(e.job.id));
    await sup.start();
    const dir = mkdtempSync(join(tmpdir(), 'brokkr-prefetch-'));
    // the first runs long enough to be seen running on a loaded machine (a cluster run under load missed 400 ms)
    const jobs = await queue.enqueueBulk(
      Array.from({ length: 5 }, (_, i) => ({ name: 'record', data: { dir, ms: i === 0 ? 2_000 : 400 } })),
    );
    // the first has started in its thread (it says so in a file), three more are leased and held
    const started = () => readdirSync(dir).some((f) => readFileSync(join(dir, f), 'utf8').includes(jobs[0]!.id));
    await waitFor(async () => started() && (await queue.getJob(jobs[3]!.id))?.status === 'active', 10_000, 'one running, three prefetched');
    await sup.close();
    expect(await queue.getJob(jobs[0]!.id)).toMatchObject({ status: 'completed' });
    expect(requeued.sort()).toEqual(
      jobs
        .slice(1, 4)
        .map((j) => j.id)
        .sort(),
    );
    for (const j of jobs.slice(1)) expect(await queue.getJob(j.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('serves several queues in the order given', async () => {
    const high = uniqueQueue('high');
    const low = uniqueQueue('low');
    const qHigh = h.queue(high);
    const qLow = h.queue(low);
    const lowJobs = await qLow.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'echo', data: i })));
    const highJobs = await qHigh.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'echo', data: i })));
    const sup = h.supervisor({ queues: [high, low], threads: 1, concurrency: 1, handlers: { echo: fixture('echo') } });
    const order: string[] = [];
    sup.on('active', (e) => order.push(e.job.queue));
    await sup.start();
    await Promise.all(lowJobs.map((j) => qLow.waitForResult(j.id, { timeoutMs: 10_000 })));
    await Promise.all(highJobs.map((j) => qHigh.waitForResult(j.id, { timeoutMs: 10_000 })));
    expect(order).toEqual([...Array(5).fill(high), ...Array(5).fill(low)]);
  });
});
