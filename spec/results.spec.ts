import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ErrorCodes } from '../lib/errors';
import { adminClient, connection, connectionNames, Harness, onCluster, fixture, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: join(__dirname, '..') });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('results from any process', () => {
  it('a process that never saw the supervisor waits for and reads the result', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const ref = await queue.enqueue('sleep', { ms: 300, value: { answer: 42 } });
    const reader = runNode([join(__dirname, 'support', 'read-result.ts'), JSON.stringify(connection()), name, ref.id]);
    const sup = h.supervisor({ queues: [name], handlers: { sleep: fixture('sleep') } });
    await sup.start();
    const out = await reader;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ result: { answer: 42 }, status: 'completed', attempts: 1 });
  });

  it('many waiters share one reader connection', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const refs = await queue.enqueueBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'sleep', data: { ms: 5, value: i } })));
    const waits = refs.map((r) => queue.waitForResult(r.id, { timeoutMs: 15_000 }));
    // on a cluster the one reader client holds a connection per node it reads from
    const readers = async () => (await connectionNames()).filter((n) => n.startsWith(`brokkr:queue:${name}:events`)).length;
    {
      // the reader connects once the waiters are registered
      await waitFor(async () => (await readers()) > 0, 5_000, 'the reader connection');
      await waitFor(() => (queue as unknown as { waiter: { waiting: number } }).waiter.waiting === 50, 5_000, 'all 50 waiters registered');
      expect(await readers()).toBeLessThanOrEqual(onCluster() ? 6 : 1);
      const sup = h.supervisor({ queues: [name], concurrency: 8, handlers: { sleep: fixture('sleep') } });
      await sup.start();
      await expect(Promise.all(waits)).resolves.toEqual(refs.map((_, i) => i));
    }
  });

  it('rejects at once for a job that had already failed before anyone waited', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { throws: fixture('throws') } });
    await sup.start();
    const job = await queue.enqueue('throws', { kind: 'string' });
    await waitFor(async () => (await queue.getJob(job.id))?.status === 'failed', 10_000, 'job failed');
    await expect(queue.waitForResult(job.id, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
  });

  it('rejects with JobNotFoundError for an unknown id and WaitTimeoutError when its own limit passes', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    await expect(queue.waitForResult('no-such-id', { timeoutMs: 5_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND });
    expect(await queue.getJob('no-such-id')).toBeNull();
    const ref = await queue.enqueue('sleep', { ms: 1 });
    await expect(queue.waitForResult(ref.id, { timeoutMs: 150 })).rejects.toMatchObject({ code: ErrorCodes.WAIT_TIMEOUT });
  });

  it('keeps records for their TTL: per job, with separate defaults for completed and failed', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      resultTtlMs: 60_000,
      failedTtlMs: 120_000,
      handlers: { sleep: fixture('sleep'), throws: fixture('throws') },
    });
    await sup.start();
    const [ok, own, bad] = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 1 } },
      { name: 'sleep', data: { ms: 1 }, opts: { resultTtlMs: 5_000 } },
      { name: 'throws', data: { kind: 'error' } },
    ]);
    await queue.waitForResult(ok!.id, { timeoutMs: 10_000 });
    await queue.waitForResult(own!.id, { timeoutMs: 10_000 });
    await queue.waitForResult(bad!.id, { timeoutMs: 10_000 }).catch(() => undefined);
    const admin = adminClient();
    try {
      const pttl = (id: string) => admin.pttl(`brokkr:{${name}}:job:${id}`);
      expect(await pttl(ok!.id)).toBeGreaterThan(55_000);
      expect(await pttl(ok!.id)).toBeLessThanOrEqual(60_000);
      expect(await pttl(own!.id)).toBeLessThanOrEqual(5_000);
      expect(await pttl(bad!.id)).toBeGreaterThan(115_000);
    } finally {
      admin.disconnect();
    }
  });

  it('drops ids of expired records from the completed and failed registries, also when no more jobs finish', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({
      queues: [name],
      resultTtlMs: 300,
      failedTtlMs: 300,
      leaseMs: 300,
      handlers: { sleep: fixture('sleep'), throws: fixture('throws') },
    });
    await sup.start();
    const [ok, bad] = await queue.enqueueBulk([
      { name: 'sleep', data: { ms: 1 } },
      { name: 'throws', data: { kind: 'error' } },
    ]);
    await queue.waitForResult(ok!.id, { timeoutMs: 10_000 });
    await queue.waitForResult(bad!.id, { timeoutMs: 10_000 }).catch(() => undefined);
    const admin = adminClient();
    try {
      expect(await admin.zcard(`brokkr:{${name}}:completed`)).toBe(1);
      await waitFor(
        async () => (await admin.zcard(`brokkr:{${name}}:completed`)) + (await admin.zcard(`brokkr:{${name}}:failed`)) === 0,
        5_000,
        'registries trimmed',
      );
      expect(await queue.getJob(ok!.id)).toBeNull();
    } finally {
      admin.disconnect();
    }
  });

  it('with resultTtlMs 0 deletes the record at once, yet a caller already waiting gets the result', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const ref = await queue.enqueue('sleep', { ms: 200, value: 'kept nowhere' }, { resultTtlMs: 0 });
    const waiting = queue.waitForResult(ref.id, { timeoutMs: 10_000 });
    const sup = h.supervisor({ queues: [name], handlers: { sleep: fixture('sleep') } });
    let completed = 0;
    sup.on('completed', () => completed++);
    await sup.start();
    await expect(waiting).resolves.toBe('kept nowhere');
    await waitFor(() => completed === 1, 5_000, 'completed event');
    expect(await queue.getJob(ref.id)).toBeNull();
    await expect(queue.waitForResult(ref.id, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND });
  });

  it('runs handlers from one module whose named exports are the handlers', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: fixture('named') });
    await sup.start();
    const [sum, up, notOne] = await queue.enqueueBulk([
      { name: 'add', data: { a: 2, b: 3 } },
      { name: 'upper', data: { s: 'hi' } },
      { name: 'notAHandler', data: {} },
    ]);
    await expect(queue.waitForResult(sum!.id, { timeoutMs: 10_000 })).resolves.toBe(5);
    await expect(queue.waitForResult(up!.id, { timeoutMs: 10_000 })).resolves.toBe('HI');
    await expect(queue.waitForResult(notOne!.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.UNKNOWN_HANDLER }),
    });
  });
});
