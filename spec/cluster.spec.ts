import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { runFailover } from '../bench/failover/run';
import { Queue, Supervisor } from '../lib';
import { queueKeys } from '../lib/redis/keys';
import { type EphemeralCluster, startEphemeralCluster } from '../scripts/ephemeral-cluster';
import { fixture, memoryLogger, uniqueQueue, waitFor } from './support/helpers';

/** Redis Cluster in operation: queues spread over masters, slots migrating mid-run, a master failing. */

let cluster: EphemeralCluster;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  cluster = await startEphemeralCluster();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});
afterAll(() => cluster.stop());

function supervisor(queues: string[]): Supervisor {
  const s = new Supervisor({
    connection: cluster.connection,
    queues,
    threads: 2,
    concurrency: 8,
    leaseMs: 2_000,
    handlers: { echo: fixture('echo') },
    logger: memoryLogger(),
  });
  closers.push(() => s.close());
  return s;
}

function queue(name: string): Queue {
  const q = new Queue(name, { connection: cluster.connection, brokerWaitMs: 30_000 });
  closers.push(() => q.close());
  return q;
}

describe('Redis Cluster', () => {
  it('spreads queues over the masters, and one supervisor serves them all', async () => {
    const names = Array.from({ length: 6 }, () => uniqueQueue('spread'));
    const masters = await Promise.all(names.map((n) => cluster.masterOf(queueKeys('brokkr', n).wait)));
    expect(new Set(masters).size).toBeGreaterThan(1);
    const sup = supervisor(names);
    await sup.start();
    const queues = names.map(queue);
    const jobs = await Promise.all(
      queues.map((q, i) => q.enqueueBulk(Array.from({ length: 5 }, (_, j) => ({ name: 'echo', data: i * 10 + j })))),
    );
    const results = await Promise.all(
      jobs.map((refs, i) => Promise.all(refs.map((r) => queues[i]!.waitForResult(r.id, { timeoutMs: 15_000 })))),
    );
    expect(results.map((rs) => rs.map((r) => (r as { data: number }).data))).toEqual(
      names.map((_, i) => [0, 1, 2, 3, 4].map((j) => i * 10 + j)),
    );
  });

  it("keeps working while the queue's slot migrates to another master (MOVED / ASK), losing no job", async () => {
    const name = await queueInFirstSlots(50);
    const keys = queueKeys('brokkr', name);
    const source = await cluster.masterOf(keys.wait);
    const target = (await cluster.masters()).find((p) => p !== source)!;
    const sup = supervisor([name]);
    await sup.start();
    const q = queue(name);
    // every key of the queue exists while the slot moves (a job waiting for next week, a failed
    // one, a backlog): a script must not run on a node that holds only part of them
    await q.enqueue('echo', 'later', { delayMs: 7 * 24 * 3600_000 });
    const failed = await q.enqueue('no-such-handler', null);
    await q.waitForResult(failed.id, { timeoutMs: 10_000 }).catch(() => undefined);
    const accepted: string[] = [];
    let producing = true;
    const producer = (async () => {
      while (producing)
        accepted.push(...(await q.enqueueBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'echo', data: i })))).map((r) => r.id));
    })();
    await waitFor(() => accepted.length > 200, 10_000, 'jobs flowing');
    const moved = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'reshard',
        `127.0.0.1:${source}`,
        '--cluster-from',
        nodeId(source),
        '--cluster-to',
        nodeId(target),
        '--cluster-slots',
        '50',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(moved.status).toBe(0);
    await waitFor(async () => (await cluster.masterOf(keys.wait)) === target, 10_000, 'the slot to move');
    const after = accepted.length;
    await waitFor(() => accepted.length > after + 200, 10_000, 'jobs flowing after the move');
    producing = false;
    await producer;
    const admin = new Cluster(cluster.nodes);
    try {
      await waitFor(
        async () => (await statuses(admin, keys, accepted)).every((s) => s === 'completed'),
        30_000,
        'every accepted job completed',
      );
    } finally {
      admin.disconnect();
    }
  });
});

describe('Redis Cluster failover (a master killed with SIGKILL, its replica promoted)', () => {
  it('with waitForReplicas: 1, supervisors and producers carry on and no accepted job is lost', async () => {
    const report = await runFailover({ waitForReplicas: 1, afterMs: 10_000 });
    expect(report.lost).toBe(0);
    expect(report.completed).toBe(report.accepted);
    // both resumed by themselves: each did work again after the kill
    expect(Number.isFinite(report.producerStallMs)).toBe(true);
    expect(Number.isFinite(report.supervisorStallMs)).toBe(true);
  });

  it('without it, both carry on too; what was acknowledged just before the kill can be lost (measured, see README)', async () => {
    const report = await runFailover({ waitForReplicas: 0 });
    process.stderr.write(`failover without WAIT: ${JSON.stringify(report)}\n`);
    expect(report.completed + report.lost).toBe(report.accepted);
    expect(Number.isFinite(report.producerStallMs)).toBe(true);
    expect(Number.isFinite(report.supervisorStallMs)).toBe(true);
  });
});

function nodeId(port: number): string {
  const reply = spawnSync('redis-cli', ['-p', String(port), 'CLUSTER', 'MYID'], { encoding: 'utf8' });
  return reply.stdout.trim();
}

/** A queue name whose hash slot is among the first `n` slots of its master, so moving n slots moves it. */
async function queueInFirstSlots(n: number): Promise<string> {
  const slots = JSON.parse(
    spawnSync('redis-cli', ['-p', String(cluster.nodes[0]!.port), '--json', 'CLUSTER', 'SLOTS'], { encoding: 'utf8' }).stdout,
  ) as [number, number][];
  for (;;) {
    const name = uniqueQueue('moving');
    const slot = Number(
      spawnSync('redis-cli', ['-p', String(cluster.nodes[0]!.port), 'CLUSTER', 'KEYSLOT', `{${name}}`], { encoding: 'utf8' }).stdout.trim(),
    );
    if (slots.some(([from]) => slot >= from && slot < from + n)) return name;
  }
}

async function statuses(admin: Cluster, keys: ReturnType<typeof queueKeys>, ids: string[]): Promise<(string | null)[]> {
  return Promise.all(ids.map((id) => admin.hget(keys.job(id), 'status')));
}
