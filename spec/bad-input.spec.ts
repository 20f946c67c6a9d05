import { ErrorCodes } from '../lib/errors';
import { Queue } from '../lib/queue';
import { Supervisor } from '../lib/supervisor/supervisor';
import { adminClient, connection, Harness, fixture, memoryLogger, scanKeys, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
afterEach(() => h.closeAll());

describe('bad input gets a clear, typed error and loses nothing', () => {
  it.each([
    ['a BigInt', { n: 1n }, 'data.n is a BigInt'],
    ['a function', { f: () => 1 }, 'data.f is a function'],
    ['a symbol', { s: Symbol('x') }, 'data.s is a symbol'],
    ['NaN', { x: NaN }, 'data.x is NaN'],
    ['Infinity', [1, Infinity], 'data[1] is Infinity'],
    ['undefined at the top level', undefined, 'data is undefined'],
    ['an undefined member', { a: undefined }, 'data.a is undefined'],
    ['a Map', { m: new Map() }, 'data.m is a Map'],
  ])('refuses data with %s before writing anything', async (_label, data, message) => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    await expect(queue.enqueue('echo', data as never)).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION,
      message: expect.stringContaining(message),
    });
    expect(await scanKeys(`*{${name}}*`)).toEqual([]);
  });

  it('refuses cyclic data and oversized payloads, naming the size and the limit', async () => {
    const queue = h.queue(uniqueQueue());
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(queue.enqueue('echo', cyclic)).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION,
      message: expect.stringContaining('circular'),
    });
    const small = new Queue(uniqueQueue(), { connection: connection(), maxPayloadBytes: 100 });
    try {
      await expect(small.enqueue('echo', 'x'.repeat(200))).rejects.toMatchObject({
        message: expect.stringMatching(/202 bytes.*limit of 100/),
      });
    } finally {
      await small.close();
    }
  });

  it('a bulk enqueue with one bad job writes none of them', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    await expect(
      queue.enqueueBulk([
        { name: 'echo', data: 1 },
        { name: 'echo', data: { bad: 1n } },
      ]),
    ).rejects.toMatchObject({
      message: expect.stringContaining('jobs[1]'),
    });
    expect(await scanKeys(`*{${name}}*`)).toEqual([]);
  });

  it('turns a Date into its ISO string', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const ref = await queue.enqueue('echo', { at: new Date(0) });
    expect((await queue.getJob(ref.id))!.data).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('records an unknown job name as failed with UnknownHandlerError', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') } });
    await sup.start();
    const ref = await queue.enqueue('nope', {});
    await expect(queue.waitForResult(ref.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: ErrorCodes.JOB_FAILED,
      cause: expect.objectContaining({ code: ErrorCodes.UNKNOWN_HANDLER, message: expect.stringContaining('"nope"') }),
    });
    expect(await queue.getJob(ref.id)).toMatchObject({ status: 'failed', error: { name: 'UnknownHandlerError' } });
  });

  it('records what a handler throws, Errors and non-Errors alike', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { throws: fixture('throws') } });
    await sup.start();
    const kinds = ['error', 'string', 'null', 'object'];
    const refs = await queue.enqueueBulk(kinds.map((kind) => ({ name: 'throws', data: { kind } })));
    const errors = await Promise.all(
      refs.map((r) =>
        queue.waitForResult(r.id, { timeoutMs: 10_000 }).then(
          () => null,
          (e: { cause: unknown }) => e.cause,
        ),
      ),
    );
    expect(errors[0]).toMatchObject({
      name: 'TypeError',
      message: 'bad input here',
      code: 'E_BAD',
      stack: expect.stringContaining('throws.ts'),
    });
    expect(errors[1]).toMatchObject({
      name: 'NonErrorThrown',
      message: 'handler threw a non-Error value: "plain string"',
      code: ErrorCodes.NON_ERROR_THROWN,
    });
    expect(errors[2]).toMatchObject({ message: 'handler threw a non-Error value: null' });
    expect(errors[3]).toMatchObject({ message: 'handler threw a non-Error value: {"reason":"an object"}' });
    const stored = await queue.getJob(refs[0]!.id);
    expect(stored!.error).toEqual({ name: 'TypeError', message: 'bad input here', code: 'E_BAD', stack: expect.any(String) });
  });

  it('stores undefined as null, and fails a result JSON cannot store faithfully', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { returns: fixture('returns') } });
    await sup.start();
    const [undef, big, fn] = await queue.enqueueBulk(
      ['undefined', 'bigint', 'function'].map((kind) => ({ name: 'returns', data: { kind } })),
    );
    await expect(queue.waitForResult(undef!.id, { timeoutMs: 10_000 })).resolves.toBeNull();
    expect(await queue.getJob(undef!.id)).toMatchObject({ status: 'completed', result: null });
    for (const [ref, what] of [
      [big!, 'result.n is a BigInt'],
      [fn!, 'result.f is a function'],
    ] as const) {
      await expect(queue.waitForResult(ref.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
        cause: expect.objectContaining({
          code: ErrorCodes.RESULT_NOT_STORABLE,
          message: expect.stringContaining(what.replace('result.', '')),
        }),
      });
    }
  });

  it('fails start() with an error naming a handler module that cannot be loaded', async () => {
    const missing = new Supervisor({
      connection: connection(),
      queues: [uniqueQueue()],
      threads: 1,
      handlers: { x: '/nowhere/handler.js' },
    });
    await expect(missing.start()).rejects.toMatchObject({
      code: ErrorCodes.HANDLER_LOAD,
      message: expect.stringContaining('/nowhere/handler.js'),
    });
    await missing.close();
    const noDefault = new Supervisor({
      connection: connection(),
      queues: [uniqueQueue()],
      threads: 1,
      handlers: { x: fixture('no-default') },
    });
    await expect(noDefault.start()).rejects.toMatchObject({ message: expect.stringMatching(/no-default\.ts.*no default export function/) });
    await noDefault.close();
  });

  it('fails a job whose stored data was corrupted while it waited, and carries on', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const [bad, gone, good] = await queue.enqueueBulk([
      { name: 'echo', data: 1 },
      { name: 'echo', data: 2 },
      { name: 'echo', data: 3 },
    ]);
    const prefix = `brokkr:{${name}}:job:`;
    const admin = adminClient();
    await admin.hset(prefix + bad!.id, 'data', '{not json');
    await admin.del(prefix + gone!.id);
    admin.disconnect();
    const logger = memoryLogger();
    const sup = h.supervisor({ queues: [name], handlers: { echo: fixture('echo') }, logger });
    await sup.start();
    await expect(queue.waitForResult(bad!.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: ErrorCodes.CORRUPT_JOB }),
    });
    await expect(queue.waitForResult(good!.id, { timeoutMs: 10_000 })).resolves.toMatchObject({ data: 3 });
    await waitFor(() => logger.lines.some((l) => l.includes(gone!.id)), 5_000, 'the dropped id to be logged');
    expect(logger.lines.find((l) => l.includes(gone!.id))).toContain('its record no longer exists');
    // structured: a pino-shaped logger gets the fields, not only the prose
    expect(logger.fields).toContainEqual({ event: 'job:dropped', jobId: gone!.id, queue: name });
  });
});

describe('options are checked when they are given', () => {
  it.each([
    [{ queues: ['a'], handlers: { x: 'x.js' }, concurency: 2 }, 'unknown option "concurency"'],
    [{ queues: ['a'], handlers: { x: 'x.js' }, concurrency: 0 }, '"concurrency" must be an integer > 0, got 0'],
    [{ queues: ['a'], handlers: { x: 'x.js' }, threads: 1.5 }, '"threads" must be an integer > 0, got 1.5'],
    [{ queues: [], handlers: { x: 'x.js' } }, '"queues" must be a non-empty array'],
    [{ queues: ['a{b}'], handlers: { x: 'x.js' } }, 'queues[0] must be a non-empty string'],
    [{ queues: ['a'], handlers: {} }, '"handlers" must be a module path'],
    [{ queues: ['a'] }, '"handlers" is required'],
    [{ queues: ['a'], handlers: { x: 'x.js' }, defaultTimeoutMs: '5' }, '"defaultTimeoutMs" must be an integer >= 0, got "5"'],
  ])('rejects %j', (options, message) => {
    expect(() => new Supervisor(options as never)).toThrow(
      expect.objectContaining({ code: ErrorCodes.VALIDATION, message: expect.stringContaining(message) }),
    );
  });

  it('rejects bad queue options and job options', async () => {
    expect(() => new Queue('ok', { conection: 'x' } as never)).toThrow('unknown option "conection"');
    expect(() => new Queue('')).toThrow(/queue name must be a non-empty string/);
    const queue = h.queue(uniqueQueue());
    await expect(queue.enqueue('echo', 1, { timeoutMs: -1 })).rejects.toThrow('job option "timeoutMs" must be an integer >= 0, got -1');
    await expect(queue.enqueue('echo', 1, { tiemoutMs: 5 } as never)).rejects.toThrow('unknown job option "tiemoutMs"');
    await expect(queue.enqueue('', 1)).rejects.toThrow('job name must be a non-empty string');
  });
});
