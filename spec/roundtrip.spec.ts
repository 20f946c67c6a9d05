import { Harness, fixture, uniqueQueue } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('a job round trip on real Redis', () => {
  it('runs a job on a thread and stores its result for getJob and waitForResult', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    await sup.start();
    const ref = await queue.enqueue('echo', { to: 'a@example.com' });
    expect(ref).toEqual({ id: expect.any(String), queue: name, name: 'echo', deduplicated: false });
    const result = await queue.waitForResult(ref.id, { timeoutMs: 10_000 });
    expect(result).toEqual({ data: { to: 'a@example.com' }, id: ref.id, name: 'echo', queue: name, attempt: 1 });
    const info = await queue.getJob(ref.id);
    expect(info).toMatchObject({ id: ref.id, queue: name, name: 'echo', status: 'completed', attempts: 1, result });
    expect(info!.finishedAt).toBeGreaterThanOrEqual(info!.startedAt!);
    expect(info!.startedAt).toBeGreaterThanOrEqual(info!.createdAt);
  });
});
