import { ValidationError } from '../lib';
import { nextTick } from '../lib/schedule';
import { RedisBroker } from '../lib/redis/broker';
import { queueKeys } from '../lib/redis/keys';
import { ScheduleKeeper } from '../lib/supervisor/schedule-keeper';
import { adminClient, connection, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const tickAt = (id: string) => Number(id.slice(id.lastIndexOf('@') + 1));

describe('when a schedule ticks (croner, no clock)', () => {
  it('02:30 in Europe/Berlin on the spring-forward night runs once, at 03:00 local (as Vixie cron does)', () => {
    const spec = { cron: '30 2 * * *', tz: 'Europe/Berlin' };
    expect(iso(nextTick(spec, Date.parse('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST
    expect(iso(nextTick(spec, Date.parse('2026-03-29T01:00:00Z')))).toBe('2026-03-30T00:30:00.000Z'); // then 02:30 CEST
  });

  it('an hourly job on the fall-back night runs every real hour, the repeated 02:00 included, never twice at once', () => {
    const spec = { cron: '0 * * * *', tz: 'Europe/Berlin' };
    const ticks: string[] = [];
    let at = Date.parse('2026-10-24T22:30:00Z');
    for (let i = 0; i < 5; i++) {
      at = nextTick(spec, at)!;
      ticks.push(iso(at)!);
    }
    // 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET, 04:00 CET
    expect(ticks).toEqual([
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
    // a daily 02:30 job runs once on that night, not in both 02:30s
    const daily = { cron: '30 2 * * *', tz: 'Europe/Berlin' };
    expect(iso(nextTick(daily, Date.parse('2026-10-25T00:30:00Z')))).toBe('2026-10-26T01:30:00.000Z');
  });

  it('intervals count from startAt; endAt ends the schedule; missed ticks are skipped', () => {
    const spec = { everyMs: 1_000, startAt: 10_000, endAt: 15_000 };
    expect(nextTick(spec, 0)).toBe(10_000);
    expect(nextTick(spec, 10_000)).toBe(11_000);
    expect(nextTick(spec, 12_500)).toBe(13_000);
    expect(nextTick(spec, 14_000)).toBeNull();
    expect(nextTick({ cron: '* * * * *', endAt: Date.parse('2026-01-01T00:00:30Z') }, Date.parse('2026-01-01T00:00:00Z'))).toBeNull();
  });
});

/** A supervisor of the queue that notes the id of every job it completes. */
async function supervisorRecording(queue: string): Promise<string[]> {
  const runs: string[] = [];
  const sup = h.supervisor({ queues: [queue], handlers: { echo: fixture('echo') } });
  sup.on('completed', ({ job }) => runs.push(job.id));
  await sup.start();
  return runs;
}

describe('recurring schedules on real Redis', () => {
  it('ticks exactly once per tick with 3 supervisors', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') }, threads: 1 });
      sup.on('completed', ({ job }) => runs.push(job.id));
      await sup.start();
    }
    const { nextRunAt } = await queue.schedule('every-300', { everyMs: 300 }, 'echo', { n: 1 });
    await waitFor(() => runs.length >= 6, 10_000, 'six ticks');
    await queue.unschedule('every-300');
    expect(new Set(runs).size).toBe(runs.length);
    const times = runs.map(tickAt).sort((a, b) => a - b);
    for (const t of times) expect((t - nextRunAt!) % 300).toBe(0);
    const [info] = (await queue.schedules()).filter((s) => s.id === 'every-300');
    expect(info).toBeUndefined();
  });

  it('schedule() from 5 processes at once leaves one pending tick, and a replacement replaces it', async () => {
    const name = uniqueQueue('sch');
    const queues = Array.from({ length: 5 }, () => h.queue(name));
    await Promise.all(queues.map((q, i) => q.schedule('nightly', { cron: '0 3 * * *', tz: 'Europe/Berlin' }, 'echo', { from: i })));
    const pending = await queues[0]!.getJobs({ status: 'delayed' });
    expect(pending).toHaveLength(1);
    const [info] = await queues[0]!.schedules();
    expect(info).toMatchObject({ id: 'nightly', nextRunAt: pending[0]!.runAt, count: 0, lastRunAt: null });
    expect(pending[0]!.id).toBe(`nightly@${info!.nextRunAt}`);

    await queues[1]!.schedule('nightly', { everyMs: 60_000 }, 'echo', { replaced: true }, { attempts: 3 });
    const after = await queues[0]!.getJobs({ status: 'delayed' });
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ data: { replaced: true }, opts: { attempts: 3 } });
    expect(await queues[2]!.unschedule('nightly')).toBe(true);
    expect(await queues[2]!.getCounts()).toMatchObject({ delayed: 0 });
    expect(await queues[2]!.schedules()).toEqual([]);
    expect(await queues[2]!.unschedule('nightly')).toBe(false);
  });

  it('ticks missed while no supervisor ran run once on catch-up, then the schedule goes on', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    await queue.schedule('often', { everyMs: 200 }, 'echo', {});
    await new Promise((r) => setTimeout(r, 1_100)); // five ticks due, nobody serving
    const runs: string[] = [];
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    sup.on('completed', ({ job }) => runs.push(job.id));
    const startedAt = Date.now();
    await sup.start();
    await waitFor(() => runs.length >= 3, 10_000, 'three runs');
    expect(runs.filter((id) => tickAt(id) < startedAt - 100)).toHaveLength(1);
  });

  it('limit: a schedule ends after that many ticks', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    const runs = await supervisorRecording(name);
    await queue.schedule('thrice', { everyMs: 100, limit: 3 }, 'echo', {});
    await waitFor(async () => (await queue.schedules())[0]?.count === 3, 10_000, 'three ticks taken');
    await new Promise((r) => setTimeout(r, 400));
    expect(runs).toHaveLength(3);
    expect((await queue.schedules())[0]).toMatchObject({ count: 3, nextRunAt: null, lastRunAt: tickAt(runs[2]!) });
  });

  it('a pending tick deleted by hand (drain) is planned again by the next heartbeat', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    await queue.schedule('hourly', { cron: '0 * * * *' }, 'echo', {});
    expect(await queue.drain()).toBe(1);
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    await sup.start(); // its first heartbeat looks at the schedules
    await waitFor(async () => (await queue.getCounts()).delayed === 1, 10_000, 'a new pending tick');
    const [info] = await queue.schedules();
    expect((await queue.getJobs({ status: 'delayed' }))[0]!.id).toBe(`hourly@${info!.nextRunAt}`);
  });

  it('schedule() called again with the same spec (every process at start) moves nothing: the schedule keeps ticking', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    const runs = await supervisorRecording(name);
    const first = await queue.schedule('hb', { everyMs: 500 }, 'echo', {});
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await queue.schedule('hb', { everyMs: 500 }, 'echo', {});
    }
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const id of runs) expect((tickAt(id) - first.nextRunAt!) % 500).toBe(0); // one anchor throughout
  });

  it('a replacement leaves a tick that is already due to run; only a future pending tick is replaced', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    const { nextRunAt: t1 } = await queue.schedule('s', { everyMs: 200 }, 'echo', { v: 1 });
    await new Promise((r) => setTimeout(r, 400)); // due, and no supervisor runs (a deploy)
    await queue.schedule('s', { everyMs: 200 }, 'echo', { v: 2 });
    const delayed = (await queue.getJobs({ status: 'delayed' })).map((j) => [j.id, j.data]);
    expect(delayed).toContainEqual([`s@${t1}`, { v: 1 }]);
    expect(delayed).toHaveLength(2);
  });

  it('the heartbeat never plans a tick again at or before the pending one, even on a clock that lags', async () => {
    const name = uniqueQueue('sch');
    const queue = h.queue(name);
    const k = queueKeys('brokkr', name);
    const { nextRunAt: t1 } = await queue.schedule('s', { cron: '*/2 * * * * *' }, 'echo', {});
    const admin = adminClient();
    const broker = new RedisBroker({
      connection: connection(),
      prefix: 'brokkr',
      clientName: 'sch-spec',
      commandTimeoutMs: 5_000,
      retryMaxDelayMs: 500,
    });
    const keeper = new ScheduleKeeper(broker, 500, (e) => {
      throw e;
    });
    try {
      // the tick ran and its record is gone (resultTtlMs 0) before its taker moved the schedule on
      await admin.zrem(k.delayed, `s@${t1}`);
      await admin.del(k.job(`s@${t1}`));
      const spy = jest.spyOn(Date, 'now').mockReturnValue(t1! - 10); // this supervisor's clock lags
      try {
        await keeper.repair(name);
      } finally {
        spy.mockRestore();
      }
      const [info] = await queue.schedules();
      expect(info!.nextRunAt).toBeGreaterThan(t1!);
    } finally {
      keeper.stop();
      await broker.close();
      admin.disconnect();
    }
  });

  it('bad specs and options are refused, naming what is wrong', async () => {
    const queue = h.queue(uniqueQueue('sch'));
    await expect(queue.schedule('x', { cron: 'not a cron' }, 'echo', {})).rejects.toThrow(/croner refuses/);
    await expect(queue.schedule('x', { cron: '* * * * *', tz: 'Mars/Olympus' }, 'echo', {})).rejects.toThrow(ValidationError);
    await expect(queue.schedule('x', { everyMs: 0 }, 'echo', {})).rejects.toThrow(/"everyMs" must be/);
    await expect(queue.schedule('x', { everyMs: 10, cron: '* * * * *' } as never, 'echo', {})).rejects.toThrow(/exactly one/);
    await expect(queue.schedule('x', { everyMs: 10 }, 'echo', {}, { delayMs: 5 })).rejects.toThrow(/do not apply/);
    await expect(queue.schedule('', { everyMs: 10 }, 'echo', {})).rejects.toThrow(/schedule id/);
  });
});
