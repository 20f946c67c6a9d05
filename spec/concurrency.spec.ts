import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../lib/errors';
import { Harness, fixture, uniqueQueue } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('concurrency means jobs in flight', () => {
  it('runs four async jobs at once on two threads, also right after a timeout replaced a thread', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name], threads: 2, concurrency: 4, timeoutGraceMs: 50,
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
