import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { type AclRole, aclRules, type ConnectionOptions, ErrorCodes, PermissionError, Queue, Supervisor, ValidationError } from '../lib';
import { adminClient, connection, fixture, memoryLogger, uniqueQueue, waitFor } from './support/helpers';

/** ACL users restricted to aclRules(role), on the suite's broker (every node of a cluster). */

const users: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});
afterAll(async () => {
  await onEveryNode((node) => Promise.all(users.map((u) => node.call('ACL', 'DELUSER', u))));
});

async function onEveryNode(action: (node: Redis) => Promise<unknown>): Promise<void> {
  const admin = adminClient();
  try {
    if (admin instanceof Cluster) await waitFor(() => admin.status === 'ready', 5_000, 'the admin cluster client');
    await Promise.all((admin instanceof Cluster ? admin.nodes('all') : [admin]).map(action));
  } finally {
    admin.disconnect();
  }
}

/** Makes an ACL user with the rules of `role` and returns a connection that logs in as it. */
async function user(role: AclRole): Promise<{ name: string; password: string; connection: ConnectionOptions }> {
  const name = `${role}-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  users.push(name);
  await onEveryNode((node) => node.call('ACL', 'SETUSER', name, 'on', `>${password}`, ...aclRules(role)));
  return { name, password, connection: as(name, password) };
}

function as(username: string, password: string): ConnectionOptions {
  const base = connection();
  if (typeof base === 'string') return base.replace('redis://', `redis://${username}:${password}@`);
  const { cluster } = base as { cluster: { host: string; port: number }[] };
  return { cluster, options: { redisOptions: { username, password } } };
}

/** A plain ioredis client logged in as the user, to try commands brokkr never sends. */
function rawClient(c: ConnectionOptions): Redis | Cluster {
  const client =
    typeof c === 'string'
      ? new Redis(c)
      : new Cluster((c as { cluster: { host: string; port: number }[] }).cluster, (c as { options: object }).options);
  closers.push(async () => client.disconnect());
  return client;
}

function supervisor(c: ConnectionOptions, queue: string): Supervisor & { lines: string[] } {
  const logger = memoryLogger();
  const s = new Supervisor({ connection: c, queues: [queue], threads: 1, leaseMs: 2_000, handlers: { echo: fixture('echo') }, logger });
  closers.push(() => s.close());
  return Object.assign(s, { lines: logger.lines });
}

function queue(c: ConnectionOptions, name: string): Queue<unknown, { data: unknown }> {
  const q = new Queue<unknown, { data: unknown }>(name, { connection: c });
  closers.push(() => q.close());
  return q;
}

describe('ACL users', () => {
  it('a producer enqueues and reads results, but can neither run jobs nor send admin commands', async () => {
    const producer = await user('producer');
    const name = uniqueQueue('acl');
    const q = queue(producer.connection, name);
    const jobs = await q.enqueueBulk([1, 2, 3].map((n) => ({ name: 'echo', data: n })));
    expect((await q.getJob(jobs[0]!.id))?.status).toBe('queued');
    expect(await q.getCounts()).toMatchObject({ queued: 3 });
    expect(await q.getJobs({ status: 'queued' })).toHaveLength(3);
    await expect(q.remove(jobs[0]!.id)).rejects.toBeInstanceOf(PermissionError); // housekeeping is the admin's

    const raw = rawClient(producer.connection);
    const k = `brokkr:{${name}}:wait`;
    const refused: [string, ...(string | number)[]][] = [
      ['RPOP', k], // taking a job by hand
      ['BZPOPMIN', `brokkr:{${name}}:marker`, 0.01],
      ['DEL', k],
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'appendonly', 'no'],
      ['FLUSHALL'],
      ['KEYS', '*'],
      ['ACL', 'LIST'],
      ['SCRIPT', 'FLUSH'],
      ['CLIENT', 'LIST'],
      ['SAVE'],
      ['HGETALL', 'other-app:secrets'], // a key outside the prefix, with a command it may send
    ];
    for (const [command, ...args] of refused) {
      await expect(raw.call(command, ...args)).rejects.toThrow(/NOPERM|no permissions/);
    }

    // a supervisor logged in as the producer is refused by Redis and leaves the jobs alone
    const impostor = supervisor(producer.connection, name);
    await impostor.start();
    await waitFor(() => impostor.lines.some((l) => l.includes('may not run')), 10_000, 'a permission error in the log');
    expect(impostor.lines.find((l) => l.includes('may not run'))).toMatch(/the Redis user may not run [A-Z]+ .*aclRules/);
    await new Promise((r) => setTimeout(r, 500));
    for (const job of jobs) expect((await q.getJob(job.id))?.status).toBe('queued');

    // granted a supervisor's commands as well, the same supervisor carries on by itself
    const grant = aclRules('supervisor').filter((rule) => rule.startsWith('+'));
    await onEveryNode((node) => node.call('ACL', 'SETUSER', producer.name, ...grant));
    const results = await Promise.all(jobs.map((j) => q.waitForResult(j.id, { timeoutMs: 15_000 })));
    expect(results.map((r) => r.data)).toEqual([1, 2, 3]);
    expect((await q.getJob(jobs[2]!.id))?.status).toBe('completed');
  });

  it('a supervisor runs jobs and schedule ticks with its rules alone, its refused CONFIG GET is harmless, and it cannot read records', async () => {
    const producer = await user('producer');
    const worker = await user('supervisor');
    const name = uniqueQueue('acl');
    const q = queue(producer.connection, name);
    const sup = supervisor(worker.connection, name);
    await sup.start();
    const delayed = await q.enqueue('echo', 'later', { delayMs: 300 });
    const jobs = await q.enqueueBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'echo', data: i })));
    const results = await Promise.all([...jobs, delayed].map((j) => q.waitForResult(j.id, { timeoutMs: 15_000 })));
    expect(results.map((r) => r.data)).toEqual([...jobs.map((_, i) => i), 'later']);
    const admin = queue((await user('admin')).connection, name);
    await admin.schedule('tick', { everyMs: 100, limit: 2 }, 'echo', 'tick');
    await waitFor(async () => (await admin.schedules())[0]?.count === 2, 10_000, 'two ticks taken by the supervisor');
    await sup.close();
    // the durability check at start was refused (no CONFIG): nothing is logged, nothing broke
    expect(sup.lines).toEqual([]);
    await expect(rawClient(worker.connection).call('CONFIG', 'GET', 'appendonly')).rejects.toThrow(/NOPERM|no permissions/);

    // a supervisor makes schedule ticks, so it may create jobs; reading records is a producer's
    const wrongWay = queue(worker.connection, name);
    const err = await wrongWay.getJob(jobs[0]!.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionError);
    expect((err as PermissionError).code).toBe(ErrorCodes.PERMISSION);
    expect((err as PermissionError).command).not.toBeNull();
  });

  it('the README gives the exact rules of both roles', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const role of ['producer', 'admin', 'supervisor'] as const) expect(readme).toContain(aclRules(role).join(' '));
    expect(aclRules('producer', { prefix: 'jobs' })).toContain('~jobs:*');
  });
});

describe('the admin role', () => {
  it('lists, retries, removes, cleans and drains, and still cannot take jobs by hand', async () => {
    const admin = await user('admin');
    const name = uniqueQueue('acl');
    const q = queue(admin.connection, name);
    const [a, b] = await q.enqueueBulk([1, 2].map((n) => ({ name: 'echo', data: n })));
    await q.enqueue('echo', 3, { delayMs: 60_000 });
    expect(await q.remove(a!.id)).toBe(true);
    expect(await q.retryAll()).toBe(0);
    expect(await q.clean({ status: 'completed' })).toBe(0);
    expect(await q.drain()).toBe(2);
    await expect(q.retry(b!.id)).rejects.toMatchObject({ code: ErrorCodes.JOB_NOT_FOUND });
    await expect(rawClient(admin.connection).call('BZPOPMIN', `brokkr:{${name}}:marker`, 0.01)).rejects.toThrow(/NOPERM|no permissions/);
  });
});

describe('credentials', () => {
  /** Everything a user could see of an error: message, stack, cause chain and the fields ioredis adds. */
  const seen = (value: unknown): string => `${inspect(value, { depth: 10 })} ${JSON.stringify(value) ?? ''}`;

  it('no error, log line or event carries the password, whether it is wrong or Redis is away', async () => {
    const producer = await user('producer');
    const secret = `wrong-${randomBytes(6).toString('hex')}`;
    const wrong = as(producer.name, secret);
    const away = `redis://${producer.name}:${producer.password}@127.0.0.1:1`;

    // a single Redis refuses the login at once; a cluster client keeps trying to load its slot map
    const wrongQueue = new Queue('cred', { connection: wrong, brokerWaitMs: 300 });
    closers.push(() => wrongQueue.close());
    const refused = await wrongQueue.enqueue('echo', 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    const awayQueue = new Queue('cred', { connection: away, brokerWaitMs: 300 });
    closers.push(() => awayQueue.close());
    const unreachable = await awayQueue.enqueue('echo', 1).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: ErrorCodes.BROKER_UNAVAILABLE });
    const invalid = (() => {
      try {
        return new Queue('cred', { connection: `http://${producer.name}:${secret}@127.0.0.1:1` });
      } catch (e) {
        return e;
      }
    })();
    expect(invalid).toBeInstanceOf(ValidationError);

    const shown: unknown[] = [refused, unreachable, invalid];
    for (const c of [wrong, away]) {
      const sup = supervisor(c, uniqueQueue('cred'));
      for (const event of ['broker:down', 'error'] as const) sup.on(event, (e: unknown) => shown.push(e));
      await sup.start();
      await waitFor(() => sup.lines.length > 0 || shown.length > 3, 10_000, 'a logged or emitted problem');
      await sup.close();
      shown.push(...sup.lines);
    }
    expect(shown.length).toBeGreaterThan(4);
    for (const value of shown) {
      const text = seen(value);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(producer.password);
    }
  }, 60_000);
});
