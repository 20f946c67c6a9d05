import { ErrorCodes } from '../lib/errors';
import { decodeStreamEvent, type StreamEvent } from '../lib/event-codec';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, Harness, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

/** How many jobs a Queue's waiter is waiting for (an internal count, read for a handshake). */
function waitersOf(queue: unknown): number {
  return (queue as { waiter: { waiting: number } }).waiter.waiting;
}

async function streamEvents(queue: string): Promise<StreamEvent[]> {
  const admin = adminClient();
  try {
    const entries = await admin.xrange(queueKeys('brokkr', queue).events, '-', '+');
    return entries.map(([, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return decodeStreamEvent(fields)!;
    });
  } finally {
    admin.disconnect();
  }
}

describe("one event payload, locally and in the queue's stream", () => {
  it('the stream carries the very object each local event carries, numbers as numbers', async () => {
    const name = uniqueQueue('ev');
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      threads: 1,
      concurrency: 2,
      timeoutGraceMs: 50,
      handlers: { echo: fixture('echo'), throws: fixture('throws'), spin: fixture('spin'), sleep: fixture('sleep') },
    });
    const local: { type: string; payload: unknown }[] = [];
    for (const type of ['completed', 'failed', 'requeued'] as const) sup.on(type, (payload) => local.push({ type, payload }));
    const active = new Set<string>();
    sup.on('active', (e) => active.add(e.job.id));
    await sup.start();
    const ok = await queue.enqueue('echo', { n: 1 });
    const bad = await queue.enqueue('throws', { kind: 'error' });
    await waitFor(() => local.length === 2, 10_000, 'two outcomes');
    // a neighbour on the thread of a job that times out is requeued
    const sleeper = await queue.enqueue('sleep', { ms: 2_000, value: 'late' });
    await waitFor(() => active.has(sleeper.id), 10_000, 'the sleeper active');
    const stuck = await queue.enqueue('spin', null, { timeoutMs: 100 });
    await expect(queue.waitForResult(sleeper.id, { timeoutMs: 15_000 })).resolves.toBe('late');
    await waitFor(() => local.filter((e) => e.type !== 'requeued').length === 4, 10_000, 'all outcomes');

    const kinds = new Set(local.map((e) => e.type));
    const stream = (await streamEvents(name)).filter((e) => kinds.has(e.type));
    expect(stream.map((e) => ({ type: e.type, payload: e.payload }))).toEqual(local);
    expect(stream.map((e) => e.jobId)).toEqual(local.map((e) => (e.payload as { job: { id: string } }).job.id));
    expect(local.map((e) => `${e.type} ${(e.payload as { job: { id: string } }).job.id}`)).toEqual(
      expect.arrayContaining([
        `completed ${ok.id}`,
        `failed ${bad.id}`,
        `requeued ${sleeper.id}`,
        `failed ${stuck.id}`,
        `completed ${sleeper.id}`,
      ]),
    );
    const completed = stream.find((e) => e.type === 'completed')!;
    expect(typeof (completed.payload as { finishedAt: unknown }).finishedAt).toBe('number');
    expect((completed.payload as { job: { attempt: unknown } }).job.attempt).toBe(1);
  });

  it('leaves a result larger than eventDataMaxBytes out of the event; a waiter reads it from the record', async () => {
    const name = uniqueQueue('big');
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      eventDataMaxBytes: 100,
      handlers: { big: fixture('big-result'), throws: fixture('throws') },
    });
    await sup.start();
    const big = await queue.enqueue('big', { bytes: 5_000 });
    await expect(queue.waitForResult(big.id, { timeoutMs: 10_000 })).resolves.toHaveLength(5_000);
    const small = await queue.enqueue('big', { bytes: 10 });
    await expect(queue.waitForResult(small.id, { timeoutMs: 10_000 })).resolves.toBe('x'.repeat(10));
    const failed = await queue.enqueue('throws', { kind: 'error' });
    await expect(queue.waitForResult(failed.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });

    const stream = await streamEvents(name);
    const byJob = (id: string) =>
      stream.find((e) => e.jobId === id && ['completed', 'failed'].includes(e.type))!.payload as unknown as Record<string, unknown>;
    expect(byJob(big.id)).toMatchObject({ resultOmitted: true });
    expect(byJob(big.id)).not.toHaveProperty('result');
    expect(byJob(small.id)).toMatchObject({ result: 'x'.repeat(10) });
    // a large error travels without its stack
    expect(byJob(failed.id).error).toMatchObject({ name: 'TypeError', message: 'bad input here', code: 'E_BAD' });
    expect(byJob(failed.id).error).not.toHaveProperty('stack');
    // every entry stays small however large the result
    const admin = adminClient();
    try {
      const entries = await admin.xrange(queueKeys('brokkr', name).events, '-', '+');
      for (const [, flat] of entries) expect(flat.join('').length).toBeLessThan(400);
    } finally {
      admin.disconnect();
    }
  });

  it('a result too large for the event, with resultTtlMs 0, gives a waiter a clear JobNotFoundError', async () => {
    const name = uniqueQueue('big0');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], eventDataMaxBytes: 100, handlers: { big: fixture('big-result') } });
    const job = await queue.enqueue('big', { bytes: 5_000 }, { resultTtlMs: 0 });
    const waiting = queue.waitForResult(job.id, { timeoutMs: 10_000 });
    await waitFor(() => waitersOf(queue) === 1, 5_000, 'the waiter registered');
    await sup.start();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND, message: expect.stringContaining('eventDataMaxBytes') });
  });
});
