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

/** Prometheus text format: `name{labels} value` lines, as a map from `name{labels}` to the value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('Prometheus metrics', () => {
  it("counts a supervisor's jobs, run and wait times, thread restarts, and reads each queue's counts at scrape time", async () => {
    const name = uniqueQueue('prom');
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 1,
      timeoutGraceMs: 50,
      handlers: { echo: fixture('echo'), throws: fixture('throws'), spin: fixture('spin') },
    });
    const registry = sup.metrics();
    let echoStarts = 0;
    sup.on('active', (e) => {
      if (e.job.name === 'echo') echoStarts++;
    });
    await sup.start();
    const ok = await queue.enqueueBulk([1, 2, 3].map((n) => ({ name: 'echo', data: n })));
    const bad = await queue.enqueue('throws', { kind: 'error' });
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 200 });
    for (const j of ok) await queue.waitForResult(j.id, { timeoutMs: 10_000 });
    for (const j of [bad, stuck]) await expect(queue.waitForResult(j.id, { timeoutMs: 10_000 })).rejects.toThrow();
    await waitFor(async () => (await queue.getCounts()).failed === 2, 5_000, 'both failures written');

    const samples = parseExposition(await registry.metrics());
    expect(registry.contentType).toMatch(/^text\/plain/);
    expect(samples.get(`brokkr_jobs_completed_total{queue="${name}",name="echo"}`)).toBe(3);
    expect(samples.get(`brokkr_jobs_failed_total{queue="${name}",name="throws"}`)).toBe(1);
    expect(samples.get(`brokkr_jobs_failed_total{queue="${name}",name="spin"}`)).toBe(1);
    expect(samples.get(`brokkr_job_run_seconds_count{queue="${name}",name="echo"}`)).toBe(3);
    // one wait per start: an echo put back when the spinning job's thread was ended starts twice
    expect(samples.get(`brokkr_job_wait_seconds_count{queue="${name}",name="echo"}`)).toBe(echoStarts);
    expect(samples.get(`brokkr_job_run_seconds_bucket{le="+Inf",queue="${name}",name="spin"}`)).toBe(1);
    expect(samples.get('brokkr_thread_restarts_total')).toBeGreaterThanOrEqual(1);
    expect(samples.get('brokkr_jobs_in_flight')).toBe(0);
    expect(samples.get('brokkr_broker_outages_total')).toBe(0);
    expect(samples.get(`brokkr_queue_jobs{queue="${name}",status="completed"}`)).toBe(3);
    expect(samples.get(`brokkr_queue_jobs{queue="${name}",status="failed"}`)).toBe(2);
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

describe('structured logging', () => {
  it('gives a pino-shaped logger fields, with one debug line per job event when its level shows them', async () => {
    const name = uniqueQueue('log');
    const entries: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => entries.push({ level, fields, message });
    const logger = { warn: at('warn'), error: at('error'), info: at('info'), debug: at('debug'), isLevelEnabled: () => true };
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, logger, handlers: { echo: fixture('echo') } });
    await sup.start();
    const job = await queue.enqueue('echo', 1);
    await queue.waitForResult(job.id, { timeoutMs: 10_000 });
    await sup.close();
    expect(entries).toContainEqual({
      level: 'info',
      fields: expect.objectContaining({ event: 'supervisor:started', queues: [name], threads: 1 }),
      message: `serving ${name}`,
    });
    expect(entries).toContainEqual({
      level: 'debug',
      fields: { event: 'job:completed', jobId: job.id, queue: name, jobName: 'echo', attempt: 1 },
      message: 'job completed',
    });
    expect(entries.at(-1)).toMatchObject({ level: 'info', fields: { event: 'supervisor:closed' } });
  });
});
