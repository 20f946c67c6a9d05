import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { Write } from '../lib/broker';
import { RedisBroker } from '../lib/redis/broker';
import { type QueueKeys, queueKeys } from '../lib/redis/keys';
import { isAllowed, JOB_STATUSES, type JobStatus, type WriteReply } from '../lib/states';
import { adminClient, connection, uniqueQueue } from './support/helpers';

/**
 * Every write a script makes, table-driven: a record in each status, a write presenting its own
 * token or another's, in each kind and mode -> the named reply, and the status it leaves, which
 * must be a move lib/states.ts allows.
 */

const OWN = 'tok.own';
const OTHER = 'tok.other';
type Kind = 'complete' | 'fail' | 'retry' | 'free' | 'counted' | 'stalled (lease expired)' | 'stalled (lease live)';
type Start = JobStatus | 'missing';
interface Row {
  status: Start;
  token: typeof OWN | typeof OTHER;
  kind: Kind;
  reply: WriteReply;
  after: JobStatus | 'missing';
}

const row = (status: Start, token: Row['token'], kind: Kind, reply: WriteReply, after: Row['after']): Row => ({
  status,
  token,
  kind,
  reply,
  after,
});

const TABLE: Row[] = [
  // complete and fail: only the holder of a live lease writes; a repeat of its own write is 'already'
  row('active', OWN, 'complete', 'written', 'completed'),
  row('active', OTHER, 'complete', 'refused', 'active'),
  row('active', OWN, 'fail', 'written', 'failed'),
  row('active', OTHER, 'fail', 'refused', 'active'),
  row('completed', OWN, 'complete', 'already', 'completed'),
  row('completed', OTHER, 'complete', 'refused', 'completed'),
  row('failed', OWN, 'fail', 'already', 'failed'),
  row('failed', OTHER, 'fail', 'refused', 'failed'),
  row('queued', OWN, 'complete', 'refused', 'queued'),
  row('queued', OTHER, 'fail', 'refused', 'queued'),
  row('delayed', OWN, 'complete', 'refused', 'delayed'),
  row('missing', OWN, 'complete', 'gone', 'missing'),
  row('missing', OWN, 'fail', 'gone', 'missing'),
  // a fail with tries left schedules the next one; only the lease holder's counts
  row('active', OWN, 'retry', 'retrying', 'retrying'),
  row('active', OTHER, 'retry', 'refused', 'active'),
  row('queued', OWN, 'retry', 'refused', 'queued'),
  row('retrying', OTHER, 'complete', 'refused', 'retrying'),
  row('retrying', OTHER, 'retry', 'refused', 'retrying'),
  // releases: free and counted put back; stalled only once the lease has expired
  row('active', OWN, 'free', 'requeued', 'queued'),
  row('active', OTHER, 'free', 'refused', 'active'),
  row('active', OWN, 'counted', 'requeued', 'queued'),
  row('active', OTHER, 'counted', 'refused', 'active'),
  row('active', OWN, 'stalled (lease expired)', 'requeued', 'queued'),
  row('active', OWN, 'stalled (lease live)', 'refused', 'active'),
  row('active', OTHER, 'stalled (lease expired)', 'refused', 'active'),
  row('completed', OWN, 'free', 'refused', 'completed'),
  row('failed', OTHER, 'counted', 'refused', 'failed'),
  row('queued', OTHER, 'free', 'refused', 'queued'),
  row('delayed', OWN, 'stalled (lease expired)', 'refused', 'delayed'),
  row('missing', OWN, 'free', 'gone', 'missing'),
  row('missing', OWN, 'stalled (lease expired)', 'gone', 'missing'),
];

let admin: Redis | Cluster;
let broker: RedisBroker;
beforeAll(() => {
  admin = adminClient();
  broker = new RedisBroker({
    connection: connection(),
    prefix: 'brokkr',
    clientName: 'scripts-spec',
    commandTimeoutMs: 5_000,
    retryMaxDelayMs: 500,
    policy: { eventsMaxLen: 1000, eventDataMaxBytes: 64, maxStalls: 5 },
  });
});
afterAll(async () => {
  await broker.close();
  admin.disconnect();
});

/** A record as a supervisor would leave it, written straight into Redis. */
async function seed(queue: string, id: string, status: Start, leaseExpired = false): Promise<void> {
  const k = queueKeys('brokkr', queue);
  const now = Number((await admin.time())[0]) * 1000;
  if (status === 'missing') {
    await admin.zadd(k.active, now + 30_000, id); // a lease whose record was deleted by hand
    return;
  }
  await admin.hset(k.job(id), { name: 'echo', data: '1', status, attempts: 1, createdAt: now, token: OWN, owner: 'sup' });
  if (status === 'active') await admin.zadd(k.active, leaseExpired ? now - 1_000 : now + 30_000, id);
  if (status === 'queued') await queueId(k, id);
  if (status === 'completed' || status === 'failed') await admin.hset(k.job(id), status === 'completed' ? 'result' : 'error', '1');
}

/** Puts an id at the end of the queue's ungrouped jobs, as the scripts do (see includes/queued.lua). */
async function queueId(k: QueueKeys, id: string): Promise<void> {
  const seq = await admin.hincrby(k.control, 'seq', 1);
  await admin.zadd(k.wait, seq, id);
  await admin.zadd(k.groups, 'NX', 1, '');
}

function writeFor(kind: Kind, id: string, token: string, ttlMs = 60_000): Write {
  if (kind === 'complete') return { kind, id, token, result: '"done"', ttlMs };
  if (kind === 'fail') return { kind, id, token, error: JSON.stringify({ name: 'Error', message: 'no' }), ttlMs };
  if (kind === 'retry')
    return { kind: 'fail', id, token, error: JSON.stringify({ name: 'Error', message: 'no' }), ttlMs, retryInMs: 5_000 };
  const mode = kind === 'free' ? 'free' : kind === 'counted' ? 'counted' : 'stalled';
  return { kind: 'release', id, token, mode, reason: 'thread-replaced', ttlMs };
}

describe('turn-19.lua writes, status x token x kind -> reply', () => {
  it.each(TABLE.map((r) => [`${r.status} + ${r.token === OWN ? 'own' : 'other'} token + ${r.kind} -> ${r.reply}`, r] as const))(
    '%s',
    async (_label, r) => {
      const queue = uniqueQueue('tbl');
      const id = 'job-1';
      await seed(queue, id, r.status, r.kind === 'stalled (lease expired)');
      const { written } = await broker.turn(queue, [writeFor(r.kind, id, r.token)], null);
      expect(written.map((w) => w.state)).toEqual([r.reply]);
      const after = ((await admin.hget(queueKeys('brokkr', queue).job(id), 'status')) ?? 'missing') as JobStatus | 'missing';
      expect(after).toBe(r.after);
      if (after !== r.status && after !== 'missing') expect(isAllowed(r.status === 'missing' ? null : r.status, after)).toBe(true);
    },
  );

  it('covers every status a record can have today', () => {
    const covered = new Set(TABLE.map((r) => r.status));
    for (const s of ['queued', 'active', 'completed', 'failed', 'delayed', 'retrying', 'missing'] as const)
      expect(covered.has(s)).toBe(true);
  });
});

describe('turn-19.lua leases', () => {
  it('leases queued ids, drops missing ones and skips ids whose record is not queued', async () => {
    const queue = uniqueQueue('lease');
    const k = queueKeys('brokkr', queue);
    await seed(queue, 'q1', 'queued');
    await queueId(k, 'gone-id');
    await seed(queue, 'done', 'completed');
    await queueId(k, 'done'); // a stray id of a finished job
    const result = await broker.turn(queue, [], { count: 10, owner: 'sup-a', tokenBase: 'base', leaseMs: 30_000 });
    expect(result.leased).toEqual([
      { id: 'q1', token: 'base.1', name: 'echo', data: '1', attempt: 2, createdAt: expect.any(Number), failedTries: 0, priority: 0 },
    ]);
    expect(result.dropped).toEqual([
      { id: 'gone-id', reason: 'missing' },
      { id: 'done', reason: 'skipped', status: 'completed' },
    ]);
    expect(await admin.hget(k.job('q1'), 'status')).toBe('active');
    expect(await admin.hget(k.job('done'), 'status')).toBe('completed');
    expect(Number(await admin.zscore(k.active, 'q1'))).toBeGreaterThan(result.now + 25_000);
    expect(isAllowed('queued', 'active')).toBe(true);
  });

  it('a due retrying job is made runnable and leased like a due delayed one; one not due yet is left', async () => {
    const queue = uniqueQueue('promote');
    const k = queueKeys('brokkr', queue);
    const now = Number((await admin.time())[0]) * 1000;
    for (const [id, status, due] of [
      ['r1', 'retrying', now - 1_000],
      ['d1', 'delayed', now - 500],
      ['r2', 'retrying', now + 60_000],
    ] as const) {
      await admin.hset(k.job(id), { name: 'echo', data: '1', status, attempts: 1, createdAt: now });
      await admin.zadd(status === 'delayed' ? k.delayed : k.retrying, due, id);
    }
    const result = await broker.turn(queue, [], { count: 10, owner: 'sup', tokenBase: 'p', leaseMs: 30_000 });
    expect(result.leased.map((j) => [j.id, j.attempt]).sort()).toEqual([
      ['d1', 2],
      ['r1', 2],
    ]);
    expect(result.nextDueAt).toBe(now + 60_000);
    expect(await admin.hget(k.job('r2'), 'status')).toBe('retrying');
    expect(isAllowed('retrying', 'queued')).toBe(true);
  });

  it('a lease that empties the queue clears the wake-up marker; one that leaves work sets it to now', async () => {
    const queue = uniqueQueue('marker');
    const k = queueKeys('brokkr', queue);
    await broker.enqueue(
      queue,
      [1, 2, 3].map((n) => ({ id: `j${n}`, name: 'echo', data: String(n), opts: {} })),
    );
    expect(await admin.zscore(k.marker, 'next')).toBe('0');
    await admin.zadd(k.marker, 5, 'next');
    await broker.turn(queue, [], { count: 2, owner: 'sup', tokenBase: 'a', leaseMs: 30_000 });
    expect(await admin.zscore(k.marker, 'next')).toBe('0');
    await broker.turn(queue, [], { count: 2, owner: 'sup', tokenBase: 'b', leaseMs: 30_000 });
    expect(await admin.zcard(k.marker)).toBe(0);
  });
});

describe('writes repeated after a lost reply are recognised', () => {
  it('a complete with resultTtlMs 0 deleted the record; its retry is told "already", not "gone"', async () => {
    const queue = uniqueQueue('ttl0');
    await seed(queue, 'j', 'active');
    const write = writeFor('complete', 'j', OWN, 0);
    expect((await broker.turn(queue, [write], null)).written[0]!.state).toBe('written');
    expect(await admin.exists(queueKeys('brokkr', queue).job('j'))).toBe(0);
    expect((await broker.turn(queue, [write], null)).written[0]!.state).toBe('already');
  });

  it('a counted release that failed the job with failedTtlMs 0 is told "failed" again on retry', async () => {
    const queue = uniqueQueue('ttl0r');
    const k = queueKeys('brokkr', queue);
    await seed(queue, 'j', 'active');
    await admin.hset(k.job('j'), 'stalls', 5); // at maxStalls: one more fails it
    const write = writeFor('counted', 'j', OWN, 0);
    const first = (await broker.turn(queue, [write], null)).written[0]!;
    expect(first).toMatchObject({ state: 'failed', stalls: 6, error: expect.objectContaining({ code: 'BRK_JOB_STALLED' }) });
    expect(await admin.exists(k.job('j'))).toBe(0);
    expect((await broker.turn(queue, [write], null)).written[0]!.state).toBe('failed');
  });

  it('a retry scheduled is recognised when the call is repeated, even after the job ran again', async () => {
    const queue = uniqueQueue('retry');
    const k = queueKeys('brokkr', queue);
    await seed(queue, 'j', 'active');
    const write = writeFor('retry', 'j', OWN);
    const first = (await broker.turn(queue, [write], null)).written[0]!;
    expect(first).toMatchObject({ state: 'retrying', attempts: 1, nextRunAt: expect.any(Number) });
    expect(Number(await admin.zscore(k.retrying, 'j'))).toBe(first.nextRunAt);
    expect((await broker.turn(queue, [write], null)).written[0]).toMatchObject({ state: 'retrying', nextRunAt: first.nextRunAt });
    await admin.hset(k.job('j'), { status: 'active', token: 'tok.next' }); // due, leased again by another run
    expect((await broker.turn(queue, [write], null)).written[0]).toMatchObject({ state: 'retrying' });
    expect(await admin.hget(k.job('j'), 'status')).toBe('active');
    expect(await admin.hlen(k.job('j'))).toBeGreaterThan(0);
    expect(await admin.hget(k.job('j'), 'failures')).toBe('1');
  });

  it('a free release retried finds the job it put back and says "requeued" without charging twice', async () => {
    const queue = uniqueQueue('rel');
    const k = queueKeys('brokkr', queue);
    await seed(queue, 'j', 'active');
    const write = writeFor('free', 'j', OWN);
    expect((await broker.turn(queue, [write], null)).written[0]).toMatchObject({ state: 'requeued', attempts: 0 });
    expect((await broker.turn(queue, [write], null)).written[0]).toMatchObject({ state: 'requeued', attempts: 0 });
    expect(await admin.zrange(k.wait, '0', '-1')).toEqual(['j']);
  });
});

describe("the state model is the scripts' only vocabulary", () => {
  it('no Lua file spells a status: they use the injected S table', () => {
    const dir = join(__dirname, '..', 'lib', 'redis', 'lua');
    const files = [
      ...readdirSync(dir).filter((f) => f.endsWith('.lua')),
      ...readdirSync(join(dir, 'includes')).map((f) => join('includes', f)),
    ];
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const status of JOB_STATUSES)
        expect({ file, status, spelled: text.includes(`'${status}'`) }).toEqual({ file, status, spelled: false });
    }
  });
});

describe('retries and manual retries, against lost replies and late writes (from review)', () => {
  it('a stall does not use up a try: the lease after it still reports no failed try', async () => {
    const queue = uniqueQueue('stall');
    const k = queueKeys('brokkr', queue);
    await broker.enqueue(queue, [{ id: 'j', name: 'echo', data: '1', opts: { attempts: 2 } }]);
    let t = await broker.turn(queue, [], { count: 1, owner: 'dead', tokenBase: 'a', leaseMs: 30_000 });
    const token = t.leased[0]!.token;
    await admin.zadd(k.active, 1, 'j'); // its lease expired: the supervisor died
    const reap: Write = { kind: 'release', id: 'j', token, mode: 'stalled', reason: 'lease expired', ttlMs: 60_000 };
    expect((await broker.turn(queue, [reap], null)).written[0]!.state).toBe('requeued');
    t = await broker.turn(queue, [], { count: 1, owner: 'live', tokenBase: 'b', leaseMs: 30_000 });
    expect(t.leased[0]).toMatchObject({ attempt: 2, failedTries: 0, maxAttempts: 2 });
  });

  it('a late fail from a run reaped as stalled is refused, not mistaken for its own retry', async () => {
    const queue = uniqueQueue('late');
    const k = queueKeys('brokkr', queue);
    await broker.enqueue(queue, [{ id: 'j', name: 'echo', data: '1', opts: {} }]);
    const t = await broker.turn(queue, [], { count: 1, owner: 'cut-off', tokenBase: 'a', leaseMs: 30_000 });
    const token = t.leased[0]!.token;
    await admin.zadd(k.active, 1, 'j');
    const reap: Write = { kind: 'release', id: 'j', token, mode: 'stalled', reason: 'lease expired', ttlMs: 60_000 };
    await broker.turn(queue, [reap], null);
    const late: Write = { kind: 'fail', id: 'j', token, error: '{"name":"Error","message":"x"}', ttlMs: 60_000, retryInMs: 100 };
    expect((await broker.turn(queue, [late], null)).written[0]!.state).toBe('refused');
    expect(await admin.hget(k.job('j'), 'status')).toBe('queued');
  });

  it('a manual retry repeated after a lost reply answers as the first call did', async () => {
    const queue = uniqueQueue('mretry');
    await seed(queue, 'j', 'failed');
    const first = await broker.retryFailed(queue, ['j'], 1, 'call-1');
    expect(first).toMatchObject({ retried: 1, statuses: ['failed'] });
    expect(await broker.retryFailed(queue, ['j'], 1, 'call-1')).toMatchObject({ retried: 0, statuses: ['failed'] });
    expect(await broker.retryFailed(queue, ['j'], 1, 'call-2')).toMatchObject({ retried: 0, statuses: ['queued'] });
  });

  it('retryAll is not stopped by ids of expired records at the front of the registry', async () => {
    const queue = uniqueQueue('stale');
    const k = queueKeys('brokkr', queue);
    const now = Number((await admin.time())[0]) * 1000;
    const stale: (string | number)[] = [];
    for (let i = 0; i < 1_000; i++) stale.push(now - 100_000 + i, `old-${i}`);
    await admin.zadd(k.failed, ...stale);
    await seed(queue, 'live', 'failed');
    await admin.zadd(k.failed, now + 3_600_000, 'live');
    expect(await broker.retryFailed(queue, [], 1_000, '')).toMatchObject({ retried: 1 });
    expect(await admin.hget(k.job('live'), 'status')).toBe('queued');
  });
});
