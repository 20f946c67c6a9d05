import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobOptions } from '../lib/job';
import { RedisBroker } from '../lib/redis/broker';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, type ChildSupervisor, connection, fixture, Harness, spawnSupervisor, uniqueQueue, waitFor } from './support/helpers';

/** Flow control held across supervisor processes: pause, rate limits, global concurrency, groups. */

const h = new Harness();
const children: ChildSupervisor[] = [];
const dirs: string[] = [];
afterEach(async () => {
  const stopping = children.splice(0);
  for (const c of stopping) c.child.kill('SIGKILL');
  await Promise.all(stopping.map((c) => c.exited));
  await h.closeAll();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  id: string;
  tag: string;
  start: number;
  end: number;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'brokkr-flow-'));
  dirs.push(dir);
  return dir;
}

/** Every run the timeline fixture noted, from every process and thread, by start time. */
function runs(dir: string): Run[] {
  const byId = new Map<string, Run[]>();
  const out: Run[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith('timeline-'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').trim().split('\n')) {
      const [kind, at, id, tag] = line.split(' ') as [string, string, string, string];
      const open = byId.get(id) ?? [];
      byId.set(id, open);
      if (kind === 'S') {
        const run = { id, tag, start: Number(at), end: Number.POSITIVE_INFINITY };
        open.push(run);
        out.push(run);
      } else {
        const run = open.find((r) => r.end === Number.POSITIVE_INFINITY);
        if (run) run.end = Number(at);
      }
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Most runs (of `tag`, or all) in progress at one moment. */
function maxOverlap(all: Run[], tag?: string): number {
  const edges = all
    .filter((r) => tag === undefined || r.tag === tag)
    .flatMap((r) => [
      [r.start, 1],
      [r.end, -1],
    ])
    .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) {
    now += d!;
    max = Math.max(max, now);
  }
  return max;
}

/** Most timestamps in any window of `ms` (a sliding check: window [t, t + ms)). */
function maxInWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= ms) from++;
    max = Math.max(max, to - from + 1);
  }
  return max;
}

function spawn(queue: string, options: Record<string, unknown> = {}): ChildSupervisor {
  const child = spawnSupervisor({ queues: [queue], handlers: { timeline: 'timeline' }, options: { threads: 2, ...options } });
  children.push(child);
  return child;
}

/** When each job was leased, by the Redis clock (the records' startedAt). */
async function leaseTimes(queue: string): Promise<number[]> {
  const q = h.queue(queue);
  const done = await q.getJobs({ status: 'completed', limit: 1000 });
  return done.map((j) => j.startedAt!);
}

describe('priorities', () => {
  it('lower priorities run first, FIFO within one, with prefetch on; a later urgent job overtakes prefetched ones', async () => {
    const name = uniqueQueue('prio');
    const dir = tempDir();
    const q = h.queue(name);
    const plan = [5, 0, 5, 3, 0, 3, 5, 0];
    const refs = await q.enqueueBulk(
      plan.map((priority, i) => ({ name: 'timeline', data: { dir, ms: 0, tag: String(i) }, opts: { priority } })),
    );
    expect((await q.getJob(refs[0]!.id))?.opts.priority).toBe(5);
    expect((await q.getJobs({ status: 'queued' })).map((j) => j.data)).toEqual(
      [1, 4, 7, 3, 5, 0, 2, 6].map((i) => ({ dir, ms: 0, tag: String(i) })),
    );
    const s = h.supervisor({ queues: [name], handlers: { timeline: fixture('timeline') }, concurrency: 1, threads: 1, prefetch: 4 });
    await s.start();
    await waitFor(() => runs(dir).length === plan.length && runs(dir).every((r) => r.end < Infinity), 10_000, 'all ran');
    expect(runs(dir).map((r) => Number(r.tag))).toEqual([1, 4, 7, 3, 5, 0, 2, 6]);

    // a backlog of slow low-priority jobs, partly prefetched; then one urgent job
    await q.enqueueBulk(
      Array.from({ length: 20 }, (_, i) => ({ name: 'timeline', data: { dir, ms: 40, tag: `low${i}` }, opts: { priority: 9 } })),
    );
    await waitFor(() => runs(dir).some((r) => r.tag === 'low2'), 10_000, 'the backlog under way');
    const enqueuedAt = Date.now();
    await q.enqueue('timeline', { dir, ms: 0, tag: 'urgent' }, { priority: 1 });
    await waitFor(() => runs(dir).some((r) => r.tag === 'urgent'), 10_000, 'the urgent job ran');
    const lowBefore = runs(dir).filter((r) => r.tag.startsWith('low') && r.start < runs(dir).find((u) => u.tag === 'urgent')!.start);
    // besides those started before it was enqueued, at most the one being handed to the thread then
    const startedLater = lowBefore.filter((r) => r.start >= enqueuedAt).length;
    expect(startedLater).toBeLessThanOrEqual(1);
    expect(lowBefore.length).toBeLessThan(10); // while 4 more were prefetched
  });

  it('a job put back keeps its place; a retried one queues after its priority; groups take turns, one job each', async () => {
    const name = uniqueQueue('prio-back');
    const broker = new RedisBroker({
      connection: connection(),
      prefix: 'brokkr',
      clientName: 'flow-spec',
      commandTimeoutMs: 5_000,
      retryMaxDelayMs: 500,
    });
    let n = 0;
    const lease = async (count: number) => {
      const r = await broker.turn(name, [], { count, owner: 'o', tokenBase: `t${n++}`, leaseMs: 30_000 });
      return r.leased;
    };
    const job = (id: string, opts: JobOptions = {}) => ({ id, name: 'x', data: '1', opts });
    try {
      await broker.enqueue(name, [job('a', { priority: 2 }), job('b', { priority: 2 }), job('c', { priority: 1 })]);
      expect((await lease(1)).map((j) => j.id)).toEqual(['c']);
      const [a] = await lease(1);
      expect(a).toMatchObject({ id: 'a', priority: 2 });
      await broker.turn(name, [{ kind: 'release', id: 'a', token: a!.token, mode: 'free', reason: 'shutdown', ttlMs: 1000 }], null);
      await broker.enqueue(name, [job('d', { priority: 2 }), job('e', { priority: 0 })]);
      const again = await lease(4);
      expect(again.map((j) => j.id)).toEqual(['e', 'a', 'b', 'd']);
      // a failed try retried at once queues after the jobs of its priority already queued
      await broker.enqueue(name, [job('f', { priority: 2 })]);
      await broker.turn(name, [{ kind: 'fail', id: 'a', token: again[1]!.token, error: '{}', ttlMs: 1000, retryInMs: 0 }], null);
      await new Promise((r) => setTimeout(r, 5));
      expect((await lease(2)).map((j) => j.id)).toEqual(['f', 'a']);

      // groups: a big one enqueued first, a small one after; jobs without a group take their turn too
      // (first: they still hold their place in the ring from before, having just run out)
      const big = Array.from({ length: 6 }, (_, i) => job(`big${i}`, { group: 'big' }));
      await broker.enqueue(name, [...big, job('small0', { group: 'small' }), job('small1', { group: 'small' }), job('plain')]);
      expect((await lease(6)).map((j) => j.id)).toEqual(['plain', 'big0', 'small0', 'big1', 'small1', 'big2']);
      expect(await broker.getCounts(name)).toMatchObject({ queued: 3 });
      expect((await broker.getJobs(name, 'queued', 0, 10)).map((j) => j.id)).toEqual(['big3', 'big4', 'big5']);
    } finally {
      await broker.close();
    }
  });
});

describe('across two supervisor processes', () => {
  it('pause stops every supervisor starting jobs within 1 s, in-flight jobs finish, the state outlives a restart; resume restarts them', async () => {
    const name = uniqueQueue('pause');
    const dir = tempDir();
    const q = h.queue(name);
    const a = spawn(name, { prefetch: 4, concurrency: 2 });
    const b = spawn(name, { prefetch: 4, concurrency: 2 });
    await Promise.all([a.ready, b.ready]);
    await q.enqueueBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'timeline', data: { dir, ms: 60, tag: String(i) } })));
    await waitFor(() => runs(dir).length >= 8, 10_000, 'jobs under way');
    await q.pause();
    const pausedAt = Date.now();
    expect(await q.isPaused()).toBe(true);
    const late = await q.enqueue('timeline', { dir, ms: 0, tag: 'late' }); // enqueue goes on
    await new Promise((r) => setTimeout(r, 1_800));
    const seen = runs(dir);
    expect(seen.filter((r) => r.start > pausedAt + 1_000)).toEqual([]);
    expect(seen.every((r) => r.end < Infinity)).toBe(true); // those in flight finished
    expect((await q.getCounts()).queued).toBeGreaterThan(100);
    expect((await q.getCounts()).active).toBe(0); // prefetched jobs went back

    // every process restarts: still paused
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    const c = spawn(name, { concurrency: 2 });
    await c.ready;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(runs(dir).length).toBe(seen.length);

    await q.resume();
    const resumedAt = Date.now();
    await waitFor(() => runs(dir).length > seen.length, 5_000, 'a job started after resume');
    expect(runs(dir)[seen.length]!.start - resumedAt).toBeLessThan(1_000);
    expect(await q.isPaused()).toBe(false);
    await q.waitForResult(late.id, { timeoutMs: 30_000 });

    const admin = adminClient();
    const events = (await admin.xrange(queueKeys('brokkr', name).events, '-', '+').finally(() => admin.disconnect())) as [
      string,
      string[],
    ][];
    const types = events.map(([, f]) => f[f.indexOf('type') + 1]).filter((t) => t === 'paused' || t === 'resumed');
    expect(types).toEqual(['paused', 'resumed']);
  }, 60_000);

  it('a rate limit holds across supervisors: never more than max leases in any window, and nothing fails', async () => {
    const name = uniqueQueue('rate');
    const dir = tempDir();
    const q = h.queue(name);
    await q.setRateLimit({ max: 4, durationMs: 400 });
    expect(await q.getRateLimit()).toEqual({ max: 4, durationMs: 400 });
    const jobs = await q.enqueueBulk(Array.from({ length: 24 }, (_, i) => ({ name: 'timeline', data: { dir, ms: 0, tag: String(i) } })));
    // held until both serve: on a loaded machine one child can start after the other has run all 24
    await q.pause();
    const a = spawn(name, { concurrency: 4 });
    const b = spawn(name, { concurrency: 4 });
    await Promise.all([a.ready, b.ready]);
    await q.resume();
    await Promise.all(jobs.map((j) => q.waitForResult(j.id, { timeoutMs: 30_000 })));
    const leased = await leaseTimes(name);
    expect(leased).toHaveLength(24);
    expect(maxInWindow(leased, 400)).toBe(4); // by the Redis clock: exact
    // the handlers start just after the lease: allow a few ms of dispatch between the two clocks
    const started = runs(dir).map((r) => r.start);
    expect(maxInWindow(started, 350)).toBeLessThanOrEqual(4);
    expect(Math.max(...leased) - Math.min(...leased)).toBeGreaterThanOrEqual(5 * 400 - 50);
    const pids = new Set(readdirSync(dir).map((f) => f.split('-')[1]));
    expect(pids.size).toBe(2); // both supervisors took part
    await q.removeRateLimit();
    expect(await q.getRateLimit()).toBeNull();
  }, 60_000);

  it('ctx.rateLimit(ms) puts the job back without charging an attempt and holds the whole queue for ms', async () => {
    const name = uniqueQueue('hold');
    const dir = tempDir();
    const q = h.queue(name);
    const a = spawn(name, { concurrency: 1 });
    const b = spawn(name, { concurrency: 1 });
    await Promise.all([a.ready, b.ready]);
    const limited = await q.enqueue('timeline', { dir, ms: 0, tag: 'limited', limitMs: 800 });
    // the others go in only once the hold is written (the limited job is back in the queue)
    await waitFor(async () => runs(dir).length === 1 && (await q.getJob(limited.id))?.status === 'queued', 10_000, 'the hold');
    const others = await q.enqueueBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'timeline', data: { dir, ms: 0, tag: String(i) } })));
    await Promise.all([limited, ...others].map((j) => q.waitForResult(j.id, { timeoutMs: 10_000 })));
    const all = runs(dir);
    const first = all[0]!;
    expect(first.tag).toBe('limited');
    expect(all.slice(1).every((r) => r.start >= first.start + 800 - 20)).toBe(true);
    const job = await q.getJob(limited.id);
    expect(job).toMatchObject({ status: 'completed', attempts: 1 });
  }, 30_000);

  it('a global concurrency cap holds across supervisors, and a killed one releases its share when its leases are reaped', async () => {
    const name = uniqueQueue('cap');
    const dir = tempDir();
    const q = h.queue(name);
    await q.setConcurrency(3);
    expect(await q.getConcurrency()).toBe(3);
    const options = { concurrency: 4, leaseMs: 1_500 };
    const a = spawn(name, options);
    const b = spawn(name, options);
    await Promise.all([a.ready, b.ready]);
    const jobs = await q.enqueueBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'timeline', data: { dir, ms: 80, tag: String(i) } })));
    await waitFor(() => runs(dir).length >= 10, 10_000, 'jobs under way');
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await Promise.all(jobs.map((j) => q.waitForResult(j.id, { timeoutMs: 30_000 })));
    // handler runs sit inside leases, so this bounds what was active too; a run cut by the kill
    // counts until the kill at least (its lease held on until reaped)
    const all = runs(dir).map((r) => (r.end === Infinity ? { ...r, end: killedAt } : r));
    expect(maxOverlap(all)).toBe(3); // the cap, reached and never passed
    await q.removeConcurrency();
    expect(await q.getConcurrency()).toBeNull();
  }, 60_000);

  it('groups take turns across supervisors, a small group is not starved, and group limits hold per group', async () => {
    const name = uniqueQueue('groups');
    const dir = tempDir();
    const q = h.queue(name);
    await q.setGroupLimits({ concurrency: 1, rateLimit: { max: 3, durationMs: 300 } });
    expect(await q.getGroupLimits()).toEqual({ concurrency: 1, rateLimit: { max: 3, durationMs: 300 } });
    const big = await q.enqueueBulk(
      Array.from({ length: 40 }, () => ({ name: 'timeline', data: { dir, ms: 20, tag: 'big' }, opts: { group: 'big' } })),
    );
    const small = await q.enqueueBulk(
      ['s1', 's2', 't1', 't2'].map((id) => ({ name: 'timeline', data: { dir, ms: 20, tag: id[0]! }, opts: { group: id[0]! } })),
    );
    const a = spawn(name, { concurrency: 3 });
    const b = spawn(name, { concurrency: 3 });
    await Promise.all([a.ready, b.ready]);
    await Promise.all(small.map((j) => q.waitForResult(j.id, { timeoutMs: 30_000 })));
    // not behind the big group's backlog of 40 (a loaded machine slows the small groups' waiters, not the order)
    expect(runs(dir).filter((r) => r.tag === 'big').length).toBeLessThan(20);
    await Promise.all(big.map((j) => q.waitForResult(j.id, { timeoutMs: 60_000 })));
    const all = runs(dir);
    for (const tag of ['big', 's', 't']) expect(maxOverlap(all, tag)).toBe(1);
    expect(maxOverlap(all)).toBeGreaterThan(1); // different groups ran side by side
    const jobs = await q.getJobs({ status: 'completed', limit: 1000 });
    const bigLeases = jobs.filter((j) => j.opts.group === 'big').map((j) => j.startedAt!);
    expect(maxInWindow(bigLeases, 300)).toBeLessThanOrEqual(3);
    await q.setGroupLimits({});
    expect(await q.getGroupLimits()).toEqual({});
  }, 60_000);
});
