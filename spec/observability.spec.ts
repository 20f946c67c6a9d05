import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucketMs, METRIC_BUCKET_BASE, percentiles } from '../lib/metrics';
import { VERSION } from '../lib/version';
import { fixture, Harness, spawnSupervisor, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('the supervisor registry', () => {
  it('lists live supervisors with what they run, and drops a killed one within three heartbeats', async () => {
    const name = uniqueQueue('reg');
    const other = uniqueQueue('reg');
    const queue = h.queue(name);
    const here = h.supervisor({ queues: [name, other], concurrency: 3, threads: 1, heartbeatMs: 200, handlers: { echo: fixture('echo') } });
    await here.start();
    const child = spawnSupervisor({ queues: [name], handlers: { sleep: 'sleep' }, options: { heartbeatMs: 200 } });
    await child.ready;
    try {
      await waitFor(async () => (await queue.getWorkers()).length === 2, 5_000, 'both supervisors registered');
      const job = await queue.enqueue('echo', 'hi');
      await queue.waitForResult(job.id, { timeoutMs: 5_000 });
      await waitFor(async () => (await queue.getWorkers()).some((w) => w.completed === 1), 5_000, 'the count in the registry');
      const mine = (await queue.getWorkers()).find((w) => w.id === here.id)!;
      expect(mine).toMatchObject({
        pid: process.pid,
        queues: [name, other],
        concurrency: 3,
        threads: 1,
        version: VERSION,
        completed: 1,
        failed: 0,
        running: 0,
      });
      expect(Date.now() - mine.lastHeartbeat).toBeLessThan(2_000);
      expect((await h.queue(other).getWorkers()).map((w) => w.id)).toEqual([here.id]);
      expect((await queue.getAllWorkers()).map((w) => w.id)).toEqual(expect.arrayContaining([here.id]));

      child.child.kill('SIGKILL');
      await child.exited;
      const killedAt = Date.now();
      await waitFor(async () => (await queue.getWorkers()).length === 1, 5_000, 'the killed supervisor dropped out');
      expect(Date.now() - killedAt).toBeLessThan(3 * 200 + 1_000);
      expect((await queue.getWorkers())[0]!.id).toBe(here.id);
    } finally {
      child.child.kill('SIGKILL');
    }
    await here.close();
    expect(await queue.getWorkers()).toEqual([]);
  });

  it('reports the version of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('per-minute metrics', () => {
  it('counts completed and failed jobs and measures wait and run times, written with the outcomes', async () => {
    const name = uniqueQueue('met');
    const queue = h.queue(name);
    const before = await queue.getMetrics({ sinceMs: 5 * 60_000 });
    expect(before).toMatchObject({ queue: name, completed: 0, failed: 0, runMs: { count: 0, p50: null } });
    expect(before.minutes.length).toBeGreaterThanOrEqual(5);

    const sleepers = await queue.enqueueBulk(Array.from({ length: 20 }, () => ({ name: 'sleep', data: { ms: 100, value: 1 } })));
    const throwers = await queue.enqueueBulk(Array.from({ length: 5 }, () => ({ name: 'throws', data: { kind: 'error' } })));
    const sup = h.supervisor({
      queues: [name],
      threads: 2,
      concurrency: 10,
      handlers: { sleep: fixture('sleep'), throws: fixture('throws') },
    });
    await sup.start();
    for (const j of sleepers) await queue.waitForResult(j.id, { timeoutMs: 10_000 });
    for (const j of throwers) await expect(queue.waitForResult(j.id, { timeoutMs: 10_000 })).rejects.toThrow();

    const m = await queue.getMetrics({ sinceMs: 5 * 60_000 });
    expect(m.completed).toBe(20);
    expect(m.failed).toBe(5);
    expect(m.minutes.reduce((n, minute) => n + minute.completed, 0)).toBe(20);
    expect(m.runMs.count).toBe(25);
    expect(m.waitMs.count).toBe(25);
    // 100 ms sleeps are most runs; a run is timed from its lease to its outcome written (Redis clock),
    // so a prefetched job's moment in the ready buffer and the write add a little
    expect(m.runMs.p50!).toBeGreaterThanOrEqual(100);
    expect(m.runMs.p50!).toBeLessThanOrEqual(Math.ceil(250 * METRIC_BUCKET_BASE));
    // the jobs waited while the supervisor started: every wait is counted, none is negative
    expect(m.waitMs.p99!).toBeGreaterThan(0);
    const last = m.minutes.at(-1)!;
    expect(last.at % 60_000).toBe(0);
  });

  it('turns buckets back into percentiles', () => {
    const buckets = new Map<number, number>([
      [3, 50],
      [10, 45],
      [20, 5],
    ]);
    expect(percentiles(buckets)).toEqual({ count: 100, p50: bucketMs(3), p95: bucketMs(10), p99: bucketMs(20) });
    expect(percentiles(new Map())).toEqual({ count: 0, p50: null, p95: null, p99: null });
  });
});
