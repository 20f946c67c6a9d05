import { type CanceledEvent, ErrorCodes, JobCanceledError, JobNotFoundError, JobStateError, type RequeuedEvent } from '../lib';
import { decodeStreamEvent } from '../lib/event-codec';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, type ChildSupervisor, fixture, Harness, spawnSupervisor, uniqueQueue, waitFor } from './support/helpers';

/** queue.cancel() of every status, from any process, on real Redis. */

const h = new Harness();
const children: ChildSupervisor[] = [];
afterEach(async () => {
  const stopping = children.splice(0);
  for (const c of stopping) c.child.kill('SIGKILL');
  await Promise.all(stopping.map((c) => c.exited));
  await h.closeAll();
});

async function streamEvents(queue: string, type: string) {
  const admin = adminClient();
  try {
    const entries = (await admin.xrange(queueKeys('brokkr', queue).events, '-', '+')) as [string, string[]][];
    return entries
      .map(([, flat]) => decodeStreamEvent(Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]!]] : [])))))
      .filter((e) => e?.type === type);
  } finally {
    admin.disconnect();
  }
}

describe('cancel a job that is not running', () => {
  it('queued, delayed and retrying jobs end canceled at once and never run', async () => {
    const q = h.queue(uniqueQueue('cancel-wait'));
    const queued = await q.enqueue('echo', 'q');
    const delayed = await q.enqueue('echo', 'd', { delayMs: 300 });
    const flaky = await q.enqueue('throws', { message: 'boom' }, { attempts: 3, backoff: { type: 'fixed', delayMs: 60_000 } });
    const sup = h.supervisor({ queues: [q.name], handlers: { echo: fixture('echo'), throws: fixture('throws') } });
    const waiting = q.waitForResult(queued.id, { timeoutMs: 5_000 });
    expect(await q.cancel(queued.id, 'not needed')).toBe('canceled');
    await expect(waiting).rejects.toBeInstanceOf(JobCanceledError);
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED, reason: 'not needed' });
    expect(await q.cancel(delayed.id)).toBe('canceled');
    await sup.start();
    await waitFor(async () => (await q.getJob(flaky.id))?.status === 'retrying', 10_000, 'the flaky job to wait for its retry');
    expect(await q.cancel(flaky.id, 'gave up')).toBe('canceled');

    // the supervisor runs on: a later job completes, the canceled ones never ran
    const later = await q.enqueue('echo', 'later');
    await q.waitForResult(later.id, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 400)); // past the delayed job's due time
    for (const ref of [queued, delayed, flaky]) {
      const job = await q.getJob(ref.id);
      expect(job).toMatchObject({ status: 'canceled', error: { name: 'JobCanceledError', code: ErrorCodes.JOB_CANCELED } });
    }
    expect((await q.getJob(queued.id))!.attempts).toBe(0);
    expect((await q.getJob(flaky.id))!.attempts).toBe(1);
    expect(await q.getCounts()).toMatchObject({ queued: 0, delayed: 0, retrying: 0, completed: 1, canceled: 3 });
    expect((await q.getJobs({ status: 'canceled' })).map((j) => j.id).sort()).toEqual([queued.id, delayed.id, flaky.id].sort());
    const events = (await streamEvents(q.name, 'canceled')) as { payload: CanceledEvent }[];
    expect(events.map((e) => e.payload.reason)).toEqual(['not needed', '', 'gave up']);
    expect(events[0]!.payload.job).toEqual({ id: queued.id, queue: q.name, name: 'echo', attempt: 0 });
  });

  it('answers what it could not do: a finished job, an unknown id; canceling twice is no error', async () => {
    const q = h.queue(uniqueQueue('cancel-final'));
    const sup = h.supervisor({ queues: [q.name], handlers: { echo: fixture('echo') } });
    await sup.start();
    const done = await q.enqueue('echo', 1);
    await q.waitForResult(done.id, { timeoutMs: 10_000 });
    await expect(q.cancel(done.id)).rejects.toBeInstanceOf(JobStateError);
    await expect(q.cancel('no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
    const later = await q.enqueue('echo', 2, { delayMs: 60_000 });
    expect(await q.cancel(later.id)).toBe('canceled');
    expect(await q.cancel(later.id)).toBe('canceled');
  });
});

describe('cancel a running job', () => {
  it('a CPU-bound job in another process: its thread is ended after the grace, it ends canceled and is never retried', async () => {
    const q = h.queue(uniqueQueue('cancel-spin'));
    const child = spawnSupervisor({ queues: [q.name], handlers: { spin: 'spin' }, options: { timeoutGraceMs: 300, threads: 1 } });
    children.push(child);
    await child.ready;
    const job = await q.enqueue('spin', null, { attempts: 3 });
    await waitFor(() => child.lines.includes(`active ${job.id}`), 10_000, 'the job to start');
    const asked = Date.now();
    expect(await q.cancel(job.id, 'user pressed stop')).toBe('canceling');
    await expect(q.waitForResult(job.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ reason: 'user pressed stop' });
    const tookMs = Date.now() - asked;
    expect(await q.getJob(job.id)).toMatchObject({ status: 'canceled', attempts: 1 });
    await waitFor(() => child.lines.includes(`canceled ${job.id}`), 5_000, "the child's local canceled event");
    // not retried, though it had tries left; and the supervisor serves on with a fresh thread
    await new Promise((r) => setTimeout(r, 300));
    expect(await q.getJob(job.id)).toMatchObject({ status: 'canceled', attempts: 1 });
    expect(await q.getCounts()).toMatchObject({ active: 0, queued: 0, retrying: 0, canceled: 1 });
    process.stdout.write(`cancel of a CPU-bound job in another process: ${tookMs} ms (grace 300 ms)\n`);
  });

  it('a job whose supervisor died ends canceled when its lease is reaped, not put back', async () => {
    const q = h.queue(uniqueQueue('cancel-dead'));
    const child = spawnSupervisor({ queues: [q.name], handlers: { spin: 'spin' }, options: { leaseMs: 1_000, threads: 1 } });
    children.push(child);
    await child.ready;
    const job = await q.enqueue('spin', null, { attempts: 3 });
    await waitFor(() => child.lines.includes(`active ${job.id}`), 10_000, 'the job to start');
    child.child.kill('SIGKILL');
    await child.exited;
    expect(await q.cancel(job.id, 'owner gone')).toBe('canceling');
    const canceled: CanceledEvent[] = [];
    const sup = h.supervisor({ queues: [q.name], handlers: { spin: fixture('spin') }, leaseMs: 1_000 });
    sup.on('canceled', (e) => canceled.push(e));
    await sup.start();
    await expect(q.waitForResult(job.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ reason: 'owner gone' });
    expect(await q.getJob(job.id)).toMatchObject({ status: 'canceled', attempts: 1 });
    await waitFor(() => canceled.length === 1, 5_000, 'the reaper to tell');
    expect(canceled[0]).toMatchObject({ job: { id: job.id }, reason: 'owner gone' });
  });

  it('a cooperative job stops on its signal; a neighbour on a thread ended for a stubborn one goes back without losing an attempt', async () => {
    const q = h.queue(uniqueQueue('cancel-coop'));
    const canceled: CanceledEvent[] = [];
    const requeued: RequeuedEvent[] = [];
    const sup = h.supervisor({
      queues: [q.name],
      handlers: { cooperative: fixture('cooperative'), sleep: fixture('sleep') },
      threads: 1,
      concurrency: 2,
      timeoutGraceMs: 200,
    });
    sup.on('canceled', (e) => canceled.push(e));
    sup.on('requeued', (e) => requeued.push(e));
    await sup.start();
    const polite = await q.enqueue('cooperative', null);
    await waitFor(async () => (await q.getJob(polite.id))?.status === 'active', 5_000, 'the cooperative job to start');
    expect(await q.cancel(polite.id)).toBe('canceling');
    await expect(q.waitForResult(polite.id, { timeoutMs: 5_000 })).rejects.toBeInstanceOf(JobCanceledError);
    await waitFor(() => canceled.length === 1, 5_000, 'the local canceled event');
    expect(canceled[0]).toMatchObject({ job: { id: polite.id, queue: q.name, attempt: 1 }, reason: '' });

    // sleep ignores its signal: its thread ends after the grace, taking the neighbour's run with it
    const stubborn = await q.enqueue('sleep', { ms: 30_000 });
    const neighbour = await q.enqueue('sleep', { ms: 600, value: 'neighbour' });
    await waitFor(
      async () => (await q.getJob(stubborn.id))?.status === 'active' && (await q.getJob(neighbour.id))?.status === 'active',
      5_000,
      'both jobs on the one thread',
    );
    expect(await q.cancel(stubborn.id, 'too slow')).toBe('canceling');
    await expect(q.waitForResult(stubborn.id, { timeoutMs: 5_000 })).rejects.toMatchObject({ reason: 'too slow' });
    expect(await q.waitForResult(neighbour.id, { timeoutMs: 10_000 })).toBe('neighbour');
    expect(requeued.map((e) => [e.job.id, e.reason])).toEqual([[neighbour.id, 'thread-replaced']]);
    expect(await q.getJob(neighbour.id)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await q.getJob(stubborn.id)).toMatchObject({ status: 'canceled' });
  });
});
