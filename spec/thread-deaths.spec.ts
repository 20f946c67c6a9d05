import { ErrorCodes } from '../lib/errors';
import type { SupervisorEvents } from '../lib/events';
import { Harness, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

const handlers = {
  exit: fixture('exit'),
  oom: fixture('oom'),
  'timer-throw': fixture('timer-throw'),
  unhandled: fixture('unhandled'),
  'stray-crash': fixture('stray-crash'),
  sleep: fixture('sleep'),
  'thread-id': fixture('thread-id'),
  'big-result': fixture('big-result'),
};

function track(sup: ReturnType<Harness['supervisor']>) {
  const seen: string[] = [];
  const on = sup.on.bind(sup) as (
    event: keyof SupervisorEvents,
    listener: (e: { job: { id: string }; reason?: string }) => void,
  ) => unknown;
  for (const event of ['active', 'completed', 'failed', 'requeued', 'timeout'] as const) {
    on(event, (e) => seen.push(`${e.job.id} ${event}${e.reason ? ` ${e.reason}` : ''}`));
  }
  return seen;
}

describe('a thread that dies or grows', () => {
  it('fails the job that called process.exit(), replaces the thread, and keeps serving', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 2, handlers });
    await sup.start();
    const job = await queue.enqueue('exit', {});
    await expect(queue.waitForResult(job.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({
        code: ErrorCodes.THREAD_CRASHED,
        message: 'the handler called process.exit(3), which ended its thread',
      }),
    });
    const after = await queue.enqueueBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'sleep', data: { ms: 1, value: i } })));
    await expect(Promise.all(after.map((j) => queue.waitForResult(j.id, { timeoutMs: 15_000 })))).resolves.toEqual([0, 1, 2, 3]);
  });

  it('fails a job that runs its thread out of memory (maxMemoryMb) with a clear error', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, maxMemoryMb: 32, handlers });
    await sup.start();
    const job = await queue.enqueue('oom', {}, { timeoutMs: 0 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: 'ERR_WORKER_OUT_OF_MEMORY', message: expect.stringContaining('ran out of memory') }),
    });
    const next = await queue.enqueue('sleep', { ms: 1, value: 'alive' });
    await expect(queue.waitForResult(next.id, { timeoutMs: 15_000 })).resolves.toBe('alive');
  });

  it('blames a throw from a timer and an unhandled rejection on the job that made them, and keeps the thread', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, concurrency: 3, handlers });
    const seen = track(sup);
    await sup.start();
    const bystander = await queue.enqueue('sleep', { ms: 800, value: 'untouched' });
    await waitFor(() => seen.includes(`${bystander.id} active`), 10_000, 'bystander active');
    const [timer, unhandled] = await queue.enqueueBulk([
      { name: 'timer-throw', data: {} },
      { name: 'unhandled', data: {} },
    ]);
    await expect(queue.waitForResult(timer!.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ name: 'Error', message: 'thrown from a timer' }),
    });
    await expect(queue.waitForResult(unhandled!.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ name: 'RangeError', message: 'rejected and never handled' }),
    });
    // the job sharing the thread was not disturbed: it completed on its first run, never requeued
    await expect(queue.waitForResult(bystander.id, { timeoutMs: 15_000 })).resolves.toBe('untouched');
    await waitFor(() => seen.includes(`${bystander.id} completed`), 5_000, 'bystander completed');
    expect(seen.filter((l) => l.startsWith(bystander.id))).toEqual([`${bystander.id} active`, `${bystander.id} completed`]);
  });

  it('puts jobs that merely shared a thread with a process.exit() back without an attempt', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, concurrency: 3, handlers });
    const seen = track(sup);
    await sup.start();
    const sleepers = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 1_000, value: 'a' } },
      { name: 'sleep', data: { ms: 1_000, value: 'b' } },
    ]);
    await waitFor(() => seen.filter((l) => l.endsWith(' active')).length === 2, 10_000, 'sleepers active');
    const culprit = await queue.enqueue('exit', {});
    await expect(queue.waitForResult(culprit.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.THREAD_CRASHED }),
    });
    await expect(Promise.all(sleepers.map((s) => queue.waitForResult(s.id, { timeoutMs: 15_000 })))).resolves.toEqual(['a', 'b']);
    for (const s of sleepers) {
      await waitFor(() => seen.includes(`${s.id} completed`), 5_000, 'sleeper completed');
      expect(seen.filter((l) => l.startsWith(s.id))).toEqual([
        `${s.id} active`,
        `${s.id} requeued thread-crashed`,
        `${s.id} active`,
        `${s.id} completed`,
      ]);
      expect(await queue.getJob(s.id)).toMatchObject({ status: 'completed', attempts: 1 });
    }
  });

  it('when no job can be blamed for a crash, counts it against maxStalls so the crasher still ends', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, concurrency: 2, maxStalls: 1, handlers });
    const seen = track(sup);
    await sup.start();
    const sleeper = await queue.enqueue('sleep', { ms: 60_000, value: 'never' }, { timeoutMs: 0 });
    await waitFor(() => seen.includes(`${sleeper.id} active`), 10_000, 'sleeper active');
    const crasher = await queue.enqueue('stray-crash', {}, { timeoutMs: 0 });
    for (const job of [crasher, sleeper]) {
      await expect(queue.waitForResult(job.id, { timeoutMs: 30_000 })).rejects.toMatchObject({
        cause: expect.objectContaining({ code: ErrorCodes.JOB_STALLED, message: expect.stringContaining('crashed with no known culprit') }),
      });
      expect(await queue.getJob(job.id)).toMatchObject({ status: 'failed', attempts: 0 });
    }
    expect(seen.filter((l) => l === `${crasher.id} requeued thread-crashed`)).toHaveLength(1);
  });

  it('recycles a thread after recycleAfterJobs', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 2, concurrency: 2, recycleAfterJobs: 3, handlers });
    await sup.start();
    const ids: number[] = [];
    for (let round = 0; round < 4; round++) {
      const jobs = await queue.enqueueBulk([
        { name: 'thread-id', data: {} },
        { name: 'thread-id', data: {} },
      ]);
      ids.push(...((await Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 15_000 })))) as number[]));
    }
    const perThread = new Map<number, number>();
    for (const id of ids) perThread.set(id, (perThread.get(id) ?? 0) + 1);
    // 8 jobs on 2 threads: without recycling some thread runs 4 or more; how the jobs spread over
    // the threads (work stealing) depends on timing, so only the cap and that it was reached count
    expect([...perThread.values()].every((n) => n <= 3)).toBe(true);
    expect([...perThread.values()].some((n) => n === 3)).toBe(true);
    expect(perThread.size).toBeGreaterThanOrEqual(3);
  });

  it('releases idle threads beyond the first, and starts them again on demand', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 2, concurrency: 2, threadIdleMs: 300, handlers });
    await sup.start();
    const busy = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 600, value: 1 } },
      { name: 'sleep', data: { ms: 600, value: 2 } },
    ]);
    await waitFor(() => sup.threadCount === 2, 10_000, 'a second thread started on demand');
    await Promise.all(busy.map((j) => queue.waitForResult(j.id, { timeoutMs: 15_000 })));
    await waitFor(() => sup.threadCount === 1, 10_000, 'the idle thread released');
  });

  it('fails a job whose result is larger than maxResultBytes', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, maxResultBytes: 1_000, handlers });
    await sup.start();
    const job = await queue.enqueue('big-result', { bytes: 5_000 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 15_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.RESULT_NOT_STORABLE, message: expect.stringMatching(/5002 bytes.*limit of 1000/) }),
    });
  });
});
