import type { ProgressEvent } from '../lib';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

/** ctx.progress and ctx.log: from the thread, coalesced, written only with the run's lease. */

const h = new Harness();
afterEach(() => h.closeAll());

async function streamCount(queue: string, type: string): Promise<number> {
  const admin = adminClient();
  try {
    const entries = (await admin.xrange(queueKeys('brokkr', queue).events, '-', '+')) as [string, string[]][];
    return entries.filter(([, f]) => f[f.indexOf('type') + 1] === type).length;
  } finally {
    admin.disconnect();
  }
}

describe('progress and logs', () => {
  it('travel from a busy thread, coalesced into a few writes; getJob shows the last progress, getLogs the last lines', async () => {
    const q = h.queue(uniqueQueue('notes'));
    const events: ProgressEvent[] = [];
    const sup = h.supervisor({ queues: [q.name], handlers: { reporter: fixture('reporter') }, maxLogLines: 500 });
    sup.on('progress', (e) => events.push(e));
    await sup.start();
    // 2,000 steps of 0.5 ms: a thousand or more calls a second of each
    const job = await q.enqueue('reporter', { steps: 2_000, stepMs: 0.5 });
    await q.waitForResult(job.id, { timeoutMs: 20_000 });
    await waitFor(async () => (await q.getJob(job.id))?.progress !== undefined, 5_000, 'the progress to be written');
    await waitFor(async () => (await q.getLogs(job.id, { offset: 499, limit: 1 }))[0] === 'step 2000', 5_000, 'the last line');
    expect((await q.getJob(job.id))!.progress).toEqual({ done: 2_000, total: 2_000 });
    const logs = await q.getLogs(job.id);
    expect(logs).toHaveLength(500); // maxLogLines: the oldest went
    expect(logs[0]).toBe('step 1501');
    expect(await q.getLogs(job.id, { offset: 10, limit: 2 })).toEqual(['step 1511', 'step 1512']);
    // coalesced: far fewer writes (one progress event per write) than the 2,000 calls
    await waitFor(
      () => events.at(-1)?.progress !== undefined && (events.at(-1)!.progress as { done: number }).done === 2_000,
      5_000,
      'the last event',
    );
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThan(60);
    expect(events[0]!.job).toEqual({ id: job.id, queue: q.name, name: 'reporter', attempt: 1 });
    expect(await streamCount(q.name, 'progress')).toBe(events.length);
    process.stdout.write(`2,000 ctx.progress + 2,000 ctx.log calls over ~1 s: ${events.length} progress writes\n`);
  });

  it('a run that lost its lease writes nothing', async () => {
    const q = h.queue(uniqueQueue('notes-lost'));
    const sup = h.supervisor({ queues: [q.name], handlers: { reporter: fixture('reporter') } });
    const dropped: string[] = [];
    sup.on('dropped', (e) => dropped.push(e.job.id));
    await sup.start();
    const job = await q.enqueue('reporter', { steps: 1, stepMs: 0, tailMs: 800 });
    await waitFor(async () => (await q.getLogs(job.id)).length === 1, 5_000, 'the first line');
    // the lease passes to someone else (as when a reaper took it after an outage)
    const admin = adminClient();
    await admin.hset(queueKeys('brokkr', q.name).job(job.id), 'token', 'another-run');
    admin.disconnect();
    await waitFor(() => dropped.includes(job.id), 5_000, 'the outcome to be refused');
    await new Promise((r) => setTimeout(r, 400)); // past the next notes flush
    expect(await q.getLogs(job.id)).toEqual(['step 1']);
    expect((await q.getJob(job.id))!.progress).toEqual({ done: 1, total: 1 });
  });
});
