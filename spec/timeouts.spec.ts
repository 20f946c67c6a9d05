import { ErrorCodes } from '../lib/errors';
import type { SupervisorEvents } from '../lib/events';
import { Harness, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

type Seen = { event: keyof SupervisorEvents; id: string; detail?: unknown };

function record(sup: ReturnType<Harness['supervisor']>): Seen[] {
  const seen: Seen[] = [];
  sup.on('active', (e) => seen.push({ event: 'active', id: e.job.id }));
  sup.on('completed', (e) => seen.push({ event: 'completed', id: e.job.id }));
  sup.on('failed', (e) => seen.push({ event: 'failed', id: e.job.id, detail: e.error.code }));
  sup.on('timeout', (e) => seen.push({ event: 'timeout', id: e.job.id }));
  sup.on('requeued', (e) => seen.push({ event: 'requeued', id: e.job.id, detail: e.reason }));
  return seen;
}

describe('hard per-job timeouts', () => {
  it('terminates the thread of a handler stuck in while(true) while other jobs keep completing', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 2,
      concurrency: 2,
      timeoutGraceMs: 100,
      handlers: { spin: fixture('spin'), sleep: fixture('sleep') },
    });
    const seen = record(sup);
    await sup.start();
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 400 });
    const others = await queue.enqueueBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'sleep', data: { ms: 20, value: i } })));

    await expect(queue.waitForResult(stuck.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      code: ErrorCodes.JOB_FAILED,
      cause: expect.objectContaining({ code: ErrorCodes.JOB_TIMEOUT }),
    });
    const results = await Promise.all(others.map((o) => queue.waitForResult(o.id, { timeoutMs: 15_000 })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));

    const info = await queue.getJob(stuck.id);
    await waitFor(() => seen.some((s) => s.id === stuck.id && s.event === 'failed'), 5_000, 'the failed event');
    expect(info).toMatchObject({ status: 'failed', attempts: 1, error: { name: 'JobTimeoutError', code: ErrorCodes.JOB_TIMEOUT } });
    expect(seen.filter((s) => s.id === stuck.id).map((s) => s.event)).toEqual(['active', 'timeout', 'failed']);

    // the pool is back to full strength: two more stuck jobs are both stopped, and work still flows
    const two = await queue.enqueueBulk([
      { name: 'spin', data: null, opts: { timeoutMs: 300 } },
      { name: 'spin', data: null, opts: { timeoutMs: 300 } },
    ]);
    const after = await queue.enqueue('sleep', { ms: 1, value: 'after' });
    for (const j of two)
      await expect(queue.waitForResult(j.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    await expect(queue.waitForResult(after.id, { timeoutMs: 15_000 })).resolves.toBe('after');
  });

  it('fires ctx.signal at the timeout so a cooperative handler stops without losing its thread', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, timeoutGraceMs: 5_000, handlers: { coop: fixture('cooperative') } });
    const seen = record(sup);
    await sup.start();
    const job = await queue.enqueue('coop', {}, { timeoutMs: 200 });
    const started = Date.now();
    await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.JOB_TIMEOUT }),
    });
    // well inside the 5 s grace: the handler stopped itself when the signal fired
    expect(Date.now() - started).toBeLessThan(4_000);
    // the supervisor emits after Redis confirms the write, which the waiter may see first
    await waitFor(() => seen.length === 3, 5_000, 'the failed event');
    expect(seen.map((s) => s.event)).toEqual(['active', 'timeout', 'failed']);
  });

  it("with jobs sharing a thread, puts the timed-out job's neighbours back without charging an attempt", async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 1,
      concurrency: 3,
      timeoutGraceMs: 50,
      handlers: { spin: fixture('spin'), sleep: fixture('sleep') },
    });
    const seen = record(sup);
    await sup.start();
    // the two sleepers start first and share the only thread with the spinner
    const sleepers = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 1_500, value: 'a' } },
      { name: 'sleep', data: { ms: 1_500, value: 'b' } },
    ]);
    await waitFor(() => seen.filter((s) => s.event === 'active').length === 2, 10_000, 'sleepers active');
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 300 });

    await expect(queue.waitForResult(stuck.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    await expect(Promise.all(sleepers.map((s) => queue.waitForResult(s.id, { timeoutMs: 15_000 })))).resolves.toEqual(['a', 'b']);
    await waitFor(() => seen.filter((e) => e.event === 'completed').length === 2, 5_000, 'completed events');
    for (const s of sleepers) {
      const events = seen.filter((e) => e.id === s.id);
      expect(events.map((e) => e.event)).toEqual(['active', 'requeued', 'active', 'completed']);
      expect(events[1]!.detail).toBe('thread-replaced');
      expect(await queue.getJob(s.id)).toMatchObject({ status: 'completed', attempts: 1 });
    }
  });

  it('timeoutMs: 0 means no limit', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, defaultTimeoutMs: 50, handlers: { sleep: fixture('sleep') } });
    await sup.start();
    const unlimited = await queue.enqueue('sleep', { ms: 300, value: 'done' }, { timeoutMs: 0 });
    await expect(queue.waitForResult(unlimited.id, { timeoutMs: 10_000 })).resolves.toBe('done');
    const limited = await queue.enqueue('sleep', { ms: 300, value: 'late' });
    await expect(queue.waitForResult(limited.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.JOB_TIMEOUT }),
    });
  });
});
