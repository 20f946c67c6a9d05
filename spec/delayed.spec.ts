import { ErrorCodes } from '../lib/errors';
import { Harness, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('delayed jobs and the wake-up marker', () => {
  it('a delayed job waits as `delayed`, and an idle supervisor wakes at its due time rather than at the end of its block', async () => {
    const name = uniqueQueue('dl');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    await sup.start();
    await new Promise((r) => setTimeout(r, 200)); // the supervisor is idle, blocked on the marker
    const job = await queue.enqueue('echo', 'later', { delayMs: 1_000 });
    const waiting = await queue.getJob(job.id);
    expect(waiting).toMatchObject({ status: 'delayed', runAt: expect.any(Number) });
    // an idle supervisor blocks for up to 10 s; the marker's due time wakes it after about 1 s
    await expect(queue.waitForResult(job.id, { timeoutMs: 6_000 })).resolves.toMatchObject({ data: 'later' });
    const done = await queue.getJob(job.id);
    expect(done!.startedAt).toBeGreaterThanOrEqual(waiting!.runAt!);
  });

  it('runAt takes a Date or epoch ms; a job due while no supervisor ran starts as soon as one does', async () => {
    const name = uniqueQueue('dl');
    const queue = h.queue(name);
    const soon = await queue.enqueue('echo', 'date', { runAt: new Date(Date.now() + 300) });
    const epoch = await queue.enqueue('echo', 'epoch', { runAt: Date.now() + 300 });
    const past = await queue.enqueue('echo', 'past', { runAt: Date.now() - 60_000 });
    expect(await queue.getJob(soon.id)).toMatchObject({ status: 'delayed' });
    expect(await queue.getJob(past.id)).toMatchObject({ status: 'queued' });
    await new Promise((r) => setTimeout(r, 600)); // both due now, nobody serving
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    await sup.start();
    for (const job of [soon, epoch, past]) await expect(queue.waitForResult(job.id, { timeoutMs: 5_000 })).resolves.toBeTruthy();
  });

  it('two supervisors run each of many delayed jobs exactly once', async () => {
    const name = uniqueQueue('dl');
    const queue = h.queue(name);
    const runs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const sup = h.supervisor({ queues: [name], threads: 1, concurrency: 4, handlers: { echo: fixture('echo') } });
      sup.on('active', (e) => runs.push(e.job.id));
      await sup.start();
    }
    const jobs = await queue.enqueueBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'echo', data: i, opts: { delayMs: 50 + i * 25 } })));
    await Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 10_000 })));
    await waitFor(() => runs.length === 40, 5_000, 'forty active events');
    expect([...runs].sort()).toEqual(jobs.map((j) => j.id).sort());
  });

  it('refuses delayMs together with runAt, and values that are not times', async () => {
    const queue = h.queue(uniqueQueue('dl'));
    await expect(queue.enqueue('echo', 1, { delayMs: 10, runAt: Date.now() })).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION,
      message: expect.stringContaining('cannot be used together'),
    });
    await expect(queue.enqueue('echo', 1, { delayMs: -5 })).rejects.toMatchObject({
      message: expect.stringContaining('"delayMs" must be an integer >= 0'),
    });
    await expect(queue.enqueue('echo', 1, { runAt: new Date('nope') })).rejects.toMatchObject({
      message: expect.stringContaining('"runAt" must be a Date or epoch ms'),
    });
  });
});
