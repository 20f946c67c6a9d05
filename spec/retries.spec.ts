import { type Backoff, ErrorCodes, type JobInfo, type RetryingEvent, ValidationError } from '../lib';
import { decideRetry, MAX_BACKOFF_MS } from '../lib/backoff';
import { decodeStreamEvent } from '../lib/event-codec';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

const boom = { name: 'Error', message: 'boom' };

describe('backoff delays (computed, no clock)', () => {
  const delays = (backoff: Backoff | undefined, tries: number, random = () => 0.5) =>
    Array.from({ length: tries }, (_, i) => decideRetry(i + 1, tries + 1, backoff, boom, {}, random)).map((d) =>
      d.retry ? d.delayMs : -1,
    );

  it('fixed, exponential (capped, with jitter), an array whose last delay repeats, none', () => {
    expect(delays({ type: 'fixed', delayMs: 250 }, 3)).toEqual([250, 250, 250]);
    expect(delays({ type: 'exponential', delayMs: 100 }, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(delays({ type: 'exponential', delayMs: 100, maxDelayMs: 500 }, 5)).toEqual([100, 200, 400, 500, 500]);
    expect(delays({ type: 'exponential', delayMs: 1000, jitter: 0.5 }, 3)).toEqual([750, 1500, 3000]);
    expect(delays({ type: 'exponential', delayMs: 1000, jitter: 1 }, 2, () => 0.999)).toEqual([1, 2]);
    expect(delays([1000, 5000, 30000], 5)).toEqual([1000, 5000, 30000, 30000, 30000]);
    expect(delays(undefined, 2)).toEqual([0, 0]);
    // however large the computed delay (2^2000 overflows to Infinity), a retry waits at most a year
    expect(decideRetry(2_000, 3_000, { type: 'exponential', delayMs: 1_000 }, boom, {})).toEqual({ retry: true, delayMs: MAX_BACKOFF_MS });
    expect(decideRetry(1, 2, { type: 'huge' }, boom, { huge: () => 1e300 })).toEqual({ retry: true, delayMs: MAX_BACKOFF_MS });
  });

  it('no retry once the tries are used up, for an UnrecoverableError, or when a strategy says -1', () => {
    expect(decideRetry(3, 3, { type: 'fixed', delayMs: 1 }, boom, {})).toEqual({ retry: false });
    expect(decideRetry(1, 5, undefined, { ...boom, code: ErrorCodes.UNRECOVERABLE }, {})).toEqual({ retry: false });
    const strategies = { linear: (n: number) => n * 10, stop: () => -1, broken: () => Number.NaN };
    expect(decideRetry(4, 9, { type: 'linear' }, boom, strategies)).toEqual({ retry: true, delayMs: 40 });
    expect(decideRetry(1, 9, { type: 'stop' }, boom, strategies)).toEqual({ retry: false });
    expect(decideRetry(1, 9, { type: 'broken' }, boom, strategies)).toMatchObject({
      retry: false,
      problem: expect.stringContaining('NaN'),
    });
    expect(decideRetry(1, 9, { type: 'missing' }, boom, strategies)).toMatchObject({
      retry: false,
      problem: expect.stringContaining('"missing" is not in'),
    });
  });

  it('bad attempts and backoff options are refused at enqueue, naming what is wrong', async () => {
    const queue = h.queue(uniqueQueue('bad'));
    const bad: [object, RegExp][] = [
      [{ attempts: 0 }, /"attempts" must be an integer >= 1/],
      [{ attempts: 1.5 }, /"attempts"/],
      [{ backoff: { type: 'fixed' } }, /needs "delayMs"/],
      [{ backoff: { type: 'exponential', delayMs: 10, jitter: 2 } }, /"jitter" must be a number from 0 to 1/],
      [{ backoff: { type: 'fixed', delayMs: 10, maxDelayMs: 5 } }, /has no field "maxDelayMs"/],
      [{ backoff: [] }, /as an array must list delays/],
      [{ backoff: [100, -1] }, /as an array must list delays/],
      [{ backoff: 'fast' }, /must be \{ type, ... \}/],
      [{ backoff: { type: 'custom', delayMs: 1 } }, /takes no other fields/],
    ];
    for (const [opts, message] of bad) {
      await expect(queue.enqueue('flaky', {}, opts)).rejects.toThrow(message);
    }
    expect(() => h.queue(uniqueQueue('bad'), { defaultJobOptions: { attempts: -1 } })).toThrow(ValidationError);
  });
});

describe('retries on real Redis', () => {
  function collect(sup: ReturnType<Harness['supervisor']>) {
    const retrying: RetryingEvent[] = [];
    const failed: string[] = [];
    sup.on('retrying', (e) => retrying.push(e));
    sup.on('failed', (e) => failed.push(e.job.id));
    return { retrying, failed };
  }

  it('a job that fails twice runs a third time after its fixed backoff; its record keeps both errors', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { flaky: fixture('flaky') } });
    const seen = collect(sup);
    await sup.start();
    const job = await queue.enqueue('flaky', { succeedOn: 3 }, { attempts: 3, backoff: { type: 'fixed', delayMs: 150 } });
    await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).resolves.toBe('ok on try 3');
    expect(seen.failed).toEqual([]);
    expect(seen.retrying.map((e) => [e.job.attempt, e.delayMs, e.error.message])).toEqual([
      [1, 150, 'try 1 failed'],
      [2, 150, 'try 2 failed'],
    ]);
    const info = (await queue.getJob(job.id))!;
    expect(info).toMatchObject({ status: 'completed', attempts: 3, opts: { attempts: 3, backoff: { type: 'fixed', delayMs: 150 } } });
    expect(info.errors.map((e) => [e.attempt, e.error.message])).toEqual([
      [1, 'try 1 failed'],
      [2, 'try 2 failed'],
    ]);
    // each next try is due a backoff after the failure's stored time, and starts no earlier
    expect(seen.retrying.map((e) => e.nextRunAt)).toEqual(info.errors.map((e) => e.failedAt + 150));
    expect(info.errors[1]!.failedAt).toBeGreaterThanOrEqual(seen.retrying[0]!.nextRunAt);
    expect(info.startedAt).toBeGreaterThanOrEqual(seen.retrying[1]!.nextRunAt);
  });

  it('between tries the job is `retrying` with its next run time and last error, in getJob and in the stream', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { flaky: fixture('flaky') } });
    const seen = collect(sup);
    await sup.start();
    const job = await queue.enqueue('flaky', {}, { attempts: 4, backoff: [60_000] });
    await waitFor(() => seen.retrying.length === 1, 10_000, 'the first retry');
    const info = (await queue.getJob(job.id)) as JobInfo;
    expect(info).toMatchObject({ status: 'retrying', attempts: 1, error: { message: 'try 1 failed' } });
    expect(info.runAt).toBe(info.errors[0]!.failedAt + 60_000);
    expect(seen.retrying[0]).toMatchObject({ delayMs: 60_000, nextRunAt: info.runAt });
    // the stream carries the very payload the local event had
    const admin = adminClient();
    try {
      const entries = await admin.xrange(queueKeys('brokkr', name).events, '-', '+');
      const events = entries.map(([, flat]) => decodeStreamEvent(Object.fromEntries(pairs(flat)))).filter((e) => e?.type === 'retrying');
      expect(events.map((e) => e!.payload)).toEqual([JSON.parse(JSON.stringify(seen.retrying[0]))]);
    } finally {
      admin.disconnect();
    }
  });

  it('an UnrecoverableError fails the job at once, whatever attempts allows', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { flaky: fixture('flaky') } });
    const seen = collect(sup);
    await sup.start();
    const job = await queue.enqueue('flaky', { how: 'unrecoverable' }, { attempts: 5 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: { code: ErrorCodes.UNRECOVERABLE },
    });
    expect(seen.retrying).toEqual([]);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('a timeout counts as a failed try and is retried', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { flaky: fixture('flaky') }, timeoutGraceMs: 100 });
    const seen = collect(sup);
    await sup.start();
    const job = await queue.enqueue('flaky', { how: 'hang', succeedOn: 2 }, { attempts: 2, timeoutMs: 300 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 15_000 })).resolves.toBe('ok on try 2');
    expect(seen.retrying.map((e) => e.error.code)).toEqual([ErrorCodes.JOB_TIMEOUT]);
  });

  it('a thread crash blamed on the job (process.exit) is a failed try too, retried until the tries run out', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { exit: fixture('exit') } });
    const seen = collect(sup);
    await sup.start();
    const job = await queue.enqueue('exit', {}, { attempts: 2 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    expect(seen.retrying.map((e) => e.error.code)).toEqual([ErrorCodes.THREAD_CRASHED]);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('named strategies come from the supervisor; -1 stops, and a missing one fails the job and says so', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name, { defaultJobOptions: { attempts: 3, backoff: { type: 'linear' } } });
    const errors: Error[] = [];
    const sup = h.supervisor({
      queues: [name],
      handlers: { flaky: fixture('flaky') },
      backoffStrategies: { linear: (attempt) => attempt * 100, never: () => -1 },
    });
    sup.on('error', (e) => errors.push(e));
    const seen = collect(sup);
    await sup.start();
    const linear = await queue.enqueue('flaky', { succeedOn: 3 });
    await expect(queue.waitForResult(linear.id, { timeoutMs: 10_000 })).resolves.toBe('ok on try 3');
    expect(seen.retrying.map((e) => e.delayMs)).toEqual([100, 200]);
    const never = await queue.enqueue('flaky', {}, { backoff: { type: 'never' } });
    await expect(queue.waitForResult(never.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    expect(await queue.getJob(never.id)).toMatchObject({ status: 'failed', attempts: 1 });
    const unknown = await queue.enqueue('flaky', {}, { backoff: { type: 'nope' } });
    await expect(queue.waitForResult(unknown.id, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('backoff strategy "nope" is not in')]);
  });

  it('the record keeps the errors of the last 10 failed tries', async () => {
    const name = uniqueQueue('rt');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { flaky: fixture('flaky') } });
    await sup.start();
    const job = await queue.enqueue('flaky', {}, { attempts: 12 });
    await expect(queue.waitForResult(job.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
    const info = (await queue.getJob(job.id))!;
    expect(info).toMatchObject({ status: 'failed', attempts: 12, error: { message: 'try 12 failed' } });
    expect(info.errors.map((e) => e.attempt)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
