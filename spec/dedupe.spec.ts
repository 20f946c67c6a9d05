import { ValidationError } from '../lib';
import { RedisBroker } from '../lib/redis/broker';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, connection, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

/** Caller-chosen ids and the three dedupe modes, on real Redis. */

const h = new Harness();
afterEach(() => h.closeAll());

async function keyExists(key: string): Promise<boolean> {
  const admin = adminClient();
  try {
    return (await admin.exists(key)) === 1;
  } finally {
    admin.disconnect();
  }
}

describe('jobId', () => {
  it('an id the queue holds creates nothing and names the job that stands, within one call too', async () => {
    const q = h.queue(uniqueQueue('jobid'));
    const first = await q.enqueue('echo', { n: 1 }, { jobId: 'order-1' });
    expect(first).toEqual({ id: 'order-1', queue: q.name, name: 'echo', deduplicated: false });
    const again = await q.enqueue('echo', { n: 2 }, { jobId: 'order-1' });
    expect(again).toMatchObject({ id: 'order-1', deduplicated: true });
    const bulk = await q.enqueueBulk([
      { name: 'echo', data: { n: 3 }, opts: { jobId: 'order-2' } },
      { name: 'echo', data: { n: 4 }, opts: { jobId: 'order-2' } },
      { name: 'echo', data: { n: 5 } },
    ]);
    expect(bulk.map((r) => [r.id, r.deduplicated])).toEqual([
      ['order-2', false],
      ['order-2', true],
      [bulk[2]!.id, false],
    ]);
    expect((await q.getJob('order-1'))?.data).toEqual({ n: 1 });
    expect((await q.getJob('order-2'))?.data).toEqual({ n: 3 });
    expect((await q.getCounts()).queued).toBe(3);
  });

  it('a call resent after a lost reply recognises its own jobs; another call does not', async () => {
    const name = uniqueQueue('resend');
    const broker = new RedisBroker({
      connection: connection(),
      prefix: 'brokkr',
      clientName: 'dedupe-spec',
      commandTimeoutMs: 5_000,
      retryMaxDelayMs: 500,
    });
    try {
      const job = { id: 'chosen', chosenId: true, name: 'x', data: '1', opts: {}, dedupe: { key: 'k', mode: 'until-finished' as const } };
      expect((await broker.enqueue(name, [job], undefined, 'call-1')).standing).toEqual([{ id: 'chosen', deduplicated: false }]);
      expect((await broker.enqueue(name, [job], undefined, 'call-1')).standing).toEqual([{ id: 'chosen', deduplicated: false }]);
      expect((await broker.enqueue(name, [job], undefined, 'call-2')).standing).toEqual([{ id: 'chosen', deduplicated: true }]);
      const other = { ...job, id: 'other', chosenId: false };
      expect((await broker.enqueue(name, [other], undefined, 'call-3')).standing).toEqual([{ id: 'chosen', deduplicated: true }]);
    } finally {
      await broker.close();
    }
  });
});

describe('dedupe', () => {
  it('until-finished: new jobs with the key are ignored while one is queued or active, and let in once it finished', async () => {
    const q = h.queue(uniqueQueue('until'));
    const dedupe = { key: 'report:42', mode: 'until-finished' as const };
    const first = await q.enqueue('sleep', { ms: 300, value: 'first' }, { dedupe });
    expect(await q.enqueue('sleep', { ms: 0, value: 'queued' }, { dedupe })).toMatchObject({ id: first.id, deduplicated: true });
    const sup = h.supervisor({ queues: [q.name], handlers: { sleep: fixture('sleep') } });
    await sup.start();
    await waitFor(async () => (await q.getJob(first.id))?.status === 'active', 5_000, 'the first job active');
    expect(await q.enqueue('sleep', { ms: 0, value: 'active' }, { dedupe })).toMatchObject({ id: first.id, deduplicated: true });
    expect(await q.waitForResult(first.id, { timeoutMs: 10_000 })).toBe('first');
    // finishing let go of the key
    expect(await keyExists(`${queueKeys('brokkr', q.name).dedupePrefix}report:42`)).toBe(false);
    const next = await q.enqueue('sleep', { ms: 0, value: 'next' }, { dedupe });
    expect(next).toMatchObject({ deduplicated: false });
    expect(next.id).not.toBe(first.id);
    expect(await q.waitForResult(next.id, { timeoutMs: 10_000 })).toBe('next');
  });

  it('throttle: new jobs with the key are ignored for ttlMs after the first, whatever became of it', async () => {
    const q = h.queue(uniqueQueue('throttle'));
    const dedupe = { key: 'ping', mode: 'throttle' as const, ttlMs: 1_000 };
    const first = await q.enqueue('echo', 1, { dedupe });
    expect(await q.enqueue('echo', 2, { dedupe })).toMatchObject({ id: first.id, deduplicated: true });
    await waitFor(async () => !(await keyExists(`${queueKeys('brokkr', q.name).dedupePrefix}ping`)), 5_000, 'the throttle window to pass');
    const third = await q.enqueue('echo', 3, { dedupe });
    expect(third.deduplicated).toBe(false);
    expect((await q.getCounts()).queued).toBe(2);
  });

  it('debounce: a new job with the key gives the pending one its data and restarts the delay; it runs once', async () => {
    const q = h.queue(uniqueQueue('debounce'));
    const dedupe = { key: 'search-index', mode: 'debounce' as const };
    const first = await q.enqueue('echo', { v: 1 }, { delayMs: 600, dedupe });
    const firstRunAt = (await q.getJob(first.id))!.runAt!;
    await new Promise((r) => setTimeout(r, 100));
    const second = await q.enqueue('echo', { v: 2 }, { delayMs: 600, dedupe });
    expect(second).toMatchObject({ id: first.id, deduplicated: true });
    const pending = await q.getJob(first.id);
    expect(pending).toMatchObject({ status: 'delayed', data: { v: 2 } });
    expect(pending!.runAt!).toBeGreaterThanOrEqual(firstRunAt + 90);
    const sup = h.supervisor({ queues: [q.name], handlers: { echo: fixture('echo') } });
    await sup.start();
    expect(await q.waitForResult(first.id, { timeoutMs: 10_000 })).toMatchObject({ data: { v: 2 } });
    expect((await q.getJob(first.id))!.startedAt!).toBeGreaterThanOrEqual(pending!.runAt!);
    expect(await q.getCounts()).toMatchObject({ queued: 0, delayed: 0, completed: 1 });
    // once it has run, the key is free: the next job waits on its own
    const later = await q.enqueue('echo', { v: 3 }, { delayMs: 100, dedupe });
    expect(later.deduplicated).toBe(false);
  });

  it('refuses what cannot work, naming the problem', async () => {
    const q = h.queue(uniqueQueue('dedupe-bad'));
    const bad = [
      [{ dedupe: { key: 'k', mode: 'throttle' } }, 'mode "throttle" needs ttlMs'],
      [{ dedupe: { key: 'k', mode: 'debounce' } }, 'mode "debounce" needs the job option "delayMs"'],
      [{ dedupe: { key: 'k', mode: 'sometimes' } }, 'mode must be one of until-finished, throttle, debounce'],
      [{ dedupe: { key: '', mode: 'throttle', ttlMs: 5 } }, 'key must be a non-empty string'],
      [{ dedupe: { key: 'k', mode: 'throttle', ttlMs: 5, extra: 1 } }, 'unknown field "extra"'],
      [{ jobId: '' }, 'job option "jobId" must be a non-empty string'],
    ] as const;
    for (const [opts, message] of bad) {
      await expect(q.enqueue('echo', 1, opts as never)).rejects.toThrow(ValidationError);
      await expect(q.enqueue('echo', 1, opts as never)).rejects.toThrow(message);
    }
    await expect(q.schedule('s', { everyMs: 1000 }, 'echo', 1, { jobId: 'x' })).rejects.toThrow(
      'do not apply: each tick makes a job of its own',
    );
    expect((await q.getCounts()).queued).toBe(0);
  });
});
