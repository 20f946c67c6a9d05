import { ErrorCodes, JobNotFoundError, JobStateError, ValidationError } from '../lib';
import { fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

const handlers = { flaky: fixture('flaky'), echo: fixture('echo'), sleep: fixture('sleep') };

describe('listing and counting jobs by status', () => {
  it('getCounts and getJobs cover every status, newest first', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const first = await queue.enqueue('echo', 1);
    const second = await queue.enqueue('echo', 2);
    const later = await queue.enqueue('echo', 3, { delayMs: 60_000 });
    expect(await queue.getCounts()).toEqual({
      queued: 2,
      active: 0,
      delayed: 1,
      retrying: 0,
      deferred: 0,
      completed: 0,
      failed: 0,
      canceled: 0,
    });
    expect((await queue.getJobs({ status: 'queued' })).map((j) => j.id)).toEqual([first.id, second.id]);
    expect((await queue.getJobs({ status: 'queued', offset: 1, limit: 1 })).map((j) => j.id)).toEqual([second.id]);
    expect((await queue.getJobs({ status: 'delayed' })).map((j) => [j.id, j.status])).toEqual([[later.id, 'delayed']]);

    const sup = h.supervisor({ queues: [name], handlers, concurrency: 4, shutdownGraceMs: 100 });
    await sup.start();
    const failing = await queue.enqueue('flaky', {});
    const retrying = await queue.enqueue('flaky', {}, { attempts: 3, backoff: [60_000] });
    const running = await queue.enqueue('sleep', { ms: 20_000 }, { timeoutMs: 0 });
    await waitFor(
      async () => {
        const c = await queue.getCounts();
        return c.completed === 2 && c.failed === 1 && c.retrying === 1 && c.active === 1;
      },
      10_000,
      'every status to be reached',
    );
    expect(await queue.getCounts()).toEqual({
      queued: 0,
      active: 1,
      delayed: 1,
      retrying: 1,
      deferred: 0,
      completed: 2,
      failed: 1,
      canceled: 0,
    });
    expect((await queue.getJobs({ status: 'failed' })).map((j) => j.id)).toEqual([failing.id]);
    expect((await queue.getJobs({ status: 'retrying' })).map((j) => [j.id, j.status])).toEqual([[retrying.id, 'retrying']]);
    expect((await queue.getJobs({ status: 'active' })).map((j) => j.id)).toEqual([running.id]);
    expect((await queue.getJobs({ status: 'completed' })).map((j) => j.id).sort()).toEqual([first.id, second.id].sort());
    await expect(queue.getJobs({ status: 'paused' as 'queued' })).rejects.toThrow(/status must be one of/);
    await expect(queue.getJobs({ status: 'queued', limit: 5000 })).rejects.toThrow(ValidationError);
  });
});

describe('retrying failed jobs by hand', () => {
  it('retry(id) runs a failed job again with its tries started over and its errors kept', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers });
    await sup.start();
    const job = await queue.enqueue('flaky', {}, { attempts: 2 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    await queue.retry(job.id);
    await waitFor(async () => (await queue.getJob(job.id))?.errors.length === 4, 10_000, 'the job to fail twice more');
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await queue.getJob(job.id))!.errors.map((e) => e.attempt)).toEqual([1, 2, 1, 2]);

    const done = await queue.enqueue('echo', 'x');
    await queue.waitForResult(done.id, { timeoutMs: 10_000 });
    await expect(queue.retry(done.id)).rejects.toMatchObject({ code: ErrorCodes.JOB_STATE, status: 'completed' });
    await expect(queue.retry('no-such-id')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('retryAll puts back every failed job in passes of 1,000', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers, concurrency: 8 });
    await sup.start();
    await queue.enqueueBulk(Array.from({ length: 2_500 }, () => ({ name: 'flaky', data: {} })));
    await waitFor(async () => (await queue.getCounts()).failed === 2_500, 30_000, '2,500 failed jobs');
    await sup.close();
    expect(await queue.retryAll()).toBe(2_500);
    expect(await queue.getCounts()).toMatchObject({ queued: 2_500, failed: 0 });
    const [one] = await queue.getJobs({ status: 'queued', limit: 1 });
    expect(one).toMatchObject({ status: 'queued', attempts: 0, errors: [expect.objectContaining({ attempt: 1 })] });
    expect(await queue.retryAll({ status: 'failed' })).toBe(0);
  });
});

describe('removing, cleaning and draining', () => {
  it('remove deletes a job that is not active, wherever it waits', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const queued = await queue.enqueue('echo', 1);
    const delayed = await queue.enqueue('echo', 2, { delayMs: 60_000 });
    expect(await queue.remove(queued.id)).toBe(true);
    expect(await queue.remove(delayed.id)).toBe(true);
    expect(await queue.remove(queued.id)).toBe(false);
    expect(await queue.getJob(queued.id)).toBeNull();
    expect(await queue.getCounts()).toMatchObject({ queued: 0, delayed: 0 });

    const sup = h.supervisor({ queues: [name], handlers, shutdownGraceMs: 100 });
    await sup.start();
    const running = await queue.enqueue('sleep', { ms: 20_000 }, { timeoutMs: 0 });
    await waitFor(async () => (await queue.getJob(running.id))?.status === 'active', 10_000, 'the job to run');
    await expect(queue.remove(running.id)).rejects.toBeInstanceOf(JobStateError);
    const failed = await queue.enqueue('flaky', {});
    await queue.waitForResult(failed.id, { timeoutMs: 10_000 }).catch(() => undefined);
    expect(await queue.remove(failed.id)).toBe(true);
    expect(await queue.getCounts()).toMatchObject({ failed: 0, active: 1 });
  });

  it('clean deletes finished records by age, up to a limit', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers });
    await sup.start();
    const jobs = await queue.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'echo', data: i })));
    for (const j of jobs) await queue.waitForResult(j.id, { timeoutMs: 10_000 });
    expect(await queue.clean({ status: 'completed', olderThanMs: 60_000 })).toBe(0);
    expect(await queue.clean({ status: 'completed', limit: 2 })).toBe(2);
    expect(await queue.getCounts()).toMatchObject({ completed: 3 });
    expect(await queue.clean({ status: 'completed' })).toBe(3);
    expect(await Promise.all(jobs.map((j) => queue.getJob(j.id)))).toEqual([null, null, null, null, null]);
    await expect(queue.clean({ status: 'queued' as 'failed' })).rejects.toThrow(ValidationError);
  });

  it('drain deletes every queued and delayed job and leaves retrying ones', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers });
    await sup.start();
    const retrying = await queue.enqueue('flaky', {}, { attempts: 2, backoff: [60_000] });
    await waitFor(async () => (await queue.getJob(retrying.id))?.status === 'retrying', 10_000, 'a retrying job');
    await sup.close();
    await queue.enqueueBulk(Array.from({ length: 1_500 }, (_, i) => ({ name: 'echo', data: i })));
    await queue.enqueueBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'echo', data: i, opts: { delayMs: 60_000 } })));
    expect(await queue.drain()).toBe(1_503);
    expect(await queue.getCounts()).toMatchObject({ queued: 0, delayed: 0, retrying: 1 });
  });

  it('keepCompleted and keepFailed cap the registries: the oldest records go first', async () => {
    const name = uniqueQueue('reg');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers, keepCompleted: 3, keepFailed: 1, concurrency: 1, threads: 1 });
    await sup.start();
    const done = [];
    for (let i = 0; i < 6; i++) {
      const job = await queue.enqueue('echo', i);
      await queue.waitForResult(job.id, { timeoutMs: 10_000 });
      done.push(job);
    }
    const failed = [await queue.enqueue('flaky', {}), await queue.enqueue('flaky', {})];
    for (const j of failed) await queue.waitForResult(j.id, { timeoutMs: 10_000 }).catch(() => undefined);
    expect(await queue.getCounts()).toMatchObject({ completed: 3, failed: 1 });
    expect((await Promise.all(done.map((j) => queue.getJob(j.id)))).map((j) => j !== null)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(await queue.getJob(failed[0]!.id)).toBeNull();
  });
});
