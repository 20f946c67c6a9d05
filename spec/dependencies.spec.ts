import { ErrorCodes, ValidationError } from '../lib';
import { RedisBroker } from '../lib/redis/broker';
import { queueKeys } from '../lib/redis/keys';
import { adminClient, connection, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

/** dependsOn across queues, the failure policies, the hand-off surviving a dead supervisor. */

const h = new Harness();
afterEach(() => h.closeAll());

const handlers = { deps: fixture('deps'), flaky: fixture('flaky') };

describe('dependencies', () => {
  it('a diamond across two queues runs in order, each job seeing the results it depended on', async () => {
    const x = h.queue(uniqueQueue('dx'));
    const y = h.queue(uniqueQueue('dy'));
    // a -> b (other queue), a -> c, b + c -> d; a keeps no record of its own (resultTtlMs 0)
    const [a, c] = await x.enqueueBulk([
      { name: 'deps', data: { tag: 'a' }, opts: { jobId: 'a', resultTtlMs: 0 } },
      { name: 'deps', data: { tag: 'c' }, opts: { jobId: 'c', dependsOn: ['a'] } },
    ]);
    // d comes first in the call, before the b it depends on
    const [d, b] = await y.enqueueBulk([
      { name: 'deps', data: { tag: 'd' }, opts: { jobId: 'd', dependsOn: ['b', { queue: x.name, id: 'c' }] } },
      { name: 'deps', data: { tag: 'b' }, opts: { jobId: 'b', dependsOn: [{ queue: x.name, id: 'a' }] } },
    ]);
    expect([a!.id, b!.id, c!.id, d!.id]).toEqual(['a', 'b', 'c', 'd']);
    expect(await x.getCounts()).toMatchObject({ queued: 1, deferred: 1 });
    expect(await y.getCounts()).toMatchObject({ deferred: 2 });
    expect((await y.getJob('d'))!.opts.dependsOn).toEqual([
      { queue: y.name, id: 'b' },
      { queue: x.name, id: 'c' },
    ]);

    const sup = h.supervisor({ queues: [x.name, y.name], handlers });
    await sup.start();
    const dResult = (await y.waitForResult('d', { timeoutMs: 15_000 })) as {
      deps: Record<string, { status: string; result: { tag: string } }>;
    };
    expect(Object.keys(dResult.deps).sort()).toEqual(['b', 'c']);
    expect(dResult.deps.b).toMatchObject({ queue: y.name, id: 'b', status: 'completed', result: { tag: 'b' } });
    expect(dResult.deps.c!.result.tag).toBe('c');
    // b and c both saw a's result, though a kept no record
    const bResult = (await y.waitForResult('b', { timeoutMs: 5_000 })) as { deps: Record<string, { result: unknown }> };
    expect(bResult.deps.a!.result).toEqual({ tag: 'a', deps: {} });
    const times = async (q: typeof x, id: string) => (await q.getJob(id))!;
    const [jb, jc, jd] = [await times(y, 'b'), await times(x, 'c'), await times(y, 'd')];
    expect(jd.startedAt!).toBeGreaterThanOrEqual(Math.max(jb.finishedAt!, jc.finishedAt!));
    await waitFor(async () => (await x.getJob('a')) === null, 5_000, "a's record to go once its dependents have its result");
  });

  it('onDependencyFailure: fail (the default), cancel, ignore; a retrying dependency is not a failure yet', async () => {
    const q = h.queue(uniqueQueue('dpol'));
    await q.enqueueBulk([
      { name: 'flaky', data: {}, opts: { jobId: 'bad' } },
      { name: 'flaky', data: { succeedOn: 2 }, opts: { jobId: 'wobbly', attempts: 2 } },
      { name: 'deps', data: { tag: 'f' }, opts: { jobId: 'f', dependsOn: ['bad'] } },
      { name: 'deps', data: { tag: 'c' }, opts: { jobId: 'c', dependsOn: ['bad'], onDependencyFailure: 'cancel' } },
      { name: 'deps', data: { tag: 'i' }, opts: { jobId: 'i', dependsOn: ['bad', 'wobbly'], onDependencyFailure: 'ignore' } },
      { name: 'deps', data: { tag: 'w' }, opts: { jobId: 'w', dependsOn: ['wobbly'] } },
      // f fails, so its own dependent fails in turn
      { name: 'deps', data: { tag: 'ff' }, opts: { jobId: 'ff', dependsOn: ['f'] } },
    ]);
    const sup = h.supervisor({ queues: [q.name], handlers });
    await sup.start();
    await expect(q.waitForResult('f', { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.DEPENDENCY_FAILED }),
    });
    const f = await q.getJob('f');
    expect(f).toMatchObject({ status: 'failed', attempts: 0 });
    expect(f!.error!.message).toContain(`dependency ${q.name}/bad failed`);
    await expect(q.waitForResult('ff', { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.DEPENDENCY_FAILED }),
    });
    expect((await q.getJob('ff'))!.error!.message).toContain(`dependency ${q.name}/f failed`);
    await expect(q.waitForResult('c', { timeoutMs: 10_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    const ignored = (await q.waitForResult('i', { timeoutMs: 10_000 })) as {
      deps: Record<string, { status: string; error?: { message: string } }>;
    };
    expect(ignored.deps.bad).toMatchObject({ status: 'failed', error: { message: 'try 1 failed' } });
    expect(ignored.deps.wobbly).toMatchObject({ status: 'completed' });
    expect(await q.waitForResult('w', { timeoutMs: 10_000 })).toMatchObject({ deps: { wobbly: { result: 'ok on try 2' } } });
    expect((await q.getJob('wobbly'))!.attempts).toBe(2);
  });

  it('refuses cycles and unknown ids at enqueue, writing nothing', async () => {
    const q = h.queue(uniqueQueue('dbad'));
    const other = uniqueQueue('dother');
    await expect(
      q.enqueueBulk([
        { name: 'deps', data: {}, opts: { jobId: 'p', dependsOn: ['r'] } },
        { name: 'deps', data: {}, opts: { jobId: 'r', dependsOn: ['s'] } },
        { name: 'deps', data: {}, opts: { jobId: 's', dependsOn: ['p'] } },
      ]),
    ).rejects.toThrow(/cycle: (p -> r -> s -> p|r -> s -> p -> r|s -> p -> r -> s)/);
    await expect(q.enqueue('deps', {}, { jobId: 'self', dependsOn: ['self'] })).rejects.toThrow(ValidationError);
    await expect(q.enqueue('deps', {}, { dependsOn: ['nobody'] })).rejects.toThrow(`job nobody of queue ${q.name} is unknown`);
    await expect(q.enqueue('deps', {}, { dependsOn: [{ queue: other, id: 'nobody' }] })).rejects.toThrow(
      `job nobody of queue ${other} is unknown`,
    );
    await expect(q.enqueue('deps', {}, { dependsOn: [] })).rejects.toThrow('must be a non-empty array');
    await expect(q.enqueue('deps', {}, { dependsOn: ['x'], delayMs: 5 })).rejects.toThrow('cannot be used with "delayMs"');
    await expect(q.enqueue('deps', {}, { dependsOn: ['x'], onDependencyFailure: 'shrug' as never })).rejects.toThrow('onDependencyFailure');
    expect(await q.getCounts()).toMatchObject({ queued: 0, deferred: 0 });
  });

  it('a dependency finished before its dependent was enqueued, or canceled while it waits, is applied at once', async () => {
    const x = h.queue(uniqueQueue('dearly'));
    const y = h.queue(uniqueQueue('dearly-y'));
    const sup = h.supervisor({ queues: [x.name, y.name], handlers });
    await sup.start();
    const done = await x.enqueue('deps', { tag: 'done' });
    await x.waitForResult(done.id, { timeoutMs: 10_000 });
    const same = await x.enqueue('deps', { tag: 'same' }, { dependsOn: [done.id] });
    const cross = await y.enqueue('deps', { tag: 'cross' }, { dependsOn: [{ queue: x.name, id: done.id }] });
    expect(await x.waitForResult(same.id, { timeoutMs: 10_000 })).toMatchObject({ deps: { [done.id]: { status: 'completed' } } });
    expect(await y.waitForResult(cross.id, { timeoutMs: 10_000 })).toMatchObject({ deps: { [done.id]: { result: { tag: 'done' } } } });

    const later = await x.enqueue('deps', { tag: 'later' }, { delayMs: 60_000 });
    const waiting = await y.enqueue('deps', { tag: 'waiting' }, { dependsOn: [{ queue: x.name, id: later.id }] });
    expect((await y.getJob(waiting.id))!.status).toBe('deferred');
    expect(await x.cancel(later.id, 'not needed')).toBe('canceled');
    await expect(y.waitForResult(waiting.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.DEPENDENCY_FAILED }),
    });
    // canceling a deferred job itself
    const blocked = await y.enqueue(
      'deps',
      { tag: 'blocked' },
      { dependsOn: [{ queue: x.name, id: (await x.enqueue('deps', {}, { delayMs: 60_000 })).id }] },
    );
    expect(await y.cancel(blocked.id)).toBe('canceled');
    expect(await y.getCounts()).toMatchObject({ deferred: 0, canceled: 1 });
    // removing a deferred job takes it off the deferred set too
    const gone = await y.enqueue('deps', {}, { dependsOn: [{ queue: x.name, id: (await x.enqueue('deps', {}, { delayMs: 60_000 })).id }] });
    expect(await y.getCounts()).toMatchObject({ deferred: 1 });
    expect(await y.remove(gone.id)).toBe(true);
    expect(await y.getCounts()).toMatchObject({ deferred: 0 });
  });

  it('a supervisor that died between a dependency finishing and the hand-off: the next one hands off', async () => {
    const name = uniqueQueue('dcrash');
    const q = h.queue(name);
    await q.enqueueBulk([
      { name: 'deps', data: { tag: 'p' }, opts: { jobId: 'p', resultTtlMs: 0 } },
      { name: 'deps', data: { tag: 'd' }, opts: { jobId: 'd', dependsOn: ['p'] } },
    ]);
    // what a supervisor leaves when it dies right after writing p's outcome: p done, d not told
    const broker = new RedisBroker({
      connection: connection(),
      prefix: 'brokkr',
      clientName: 'deps-spec',
      commandTimeoutMs: 5_000,
      retryMaxDelayMs: 500,
    });
    try {
      const { leased } = await broker.turn(name, [], { count: 1, owner: 'dead', tokenBase: 't', leaseMs: 30_000 });
      expect(leased.map((j) => j.id)).toEqual(['p']);
      const written = await broker.turn(
        name,
        [{ kind: 'complete', id: 'p', token: leased[0]!.token, result: '{"tag":"p"}', ttlMs: 0 }],
        null,
      );
      expect(written.handoff).toBe(true);
    } finally {
      await broker.close();
    }
    expect((await q.getJob('d'))!.status).toBe('deferred');
    const admin = adminClient();
    expect(await admin.zrange(queueKeys('brokkr', name).handoff, '0', '-1')).toEqual(['p']);
    admin.disconnect();
    expect((await q.getJob('p'))!.status).toBe('completed'); // kept for its dependent despite resultTtlMs 0

    const sup = h.supervisor({ queues: [name], handlers });
    await sup.start();
    expect(await q.waitForResult('d', { timeoutMs: 10_000 })).toMatchObject({ deps: { p: { result: { tag: 'p' } } } });
    await waitFor(async () => (await q.getJob('p')) === null, 5_000, "p's record to go after the hand-off");
  });
});
