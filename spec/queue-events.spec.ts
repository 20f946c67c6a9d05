import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { StreamEventMap } from '../lib/event-codec';
import { type GapEvent, QueueEvents } from '../lib/queue-events';
import { queueKeys } from '../lib/redis/keys';
import { STREAM_EVENTS, type StreamEventName } from '../lib/states';
import { adminClient, connection, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

const h = new Harness();
const subscribers: QueueEvents[] = [];
afterEach(async () => {
  await Promise.all(subscribers.splice(0).map((s) => s.close()));
  await h.closeAll();
});

interface Seen {
  type: string;
  id?: string;
  payload: unknown;
}

function subscribe(queue: string, from?: string): { events: QueueEvents; seen: Seen[] } {
  const events = new QueueEvents(queue, { connection: connection(), ...(from ? { from } : {}) });
  subscribers.push(events);
  const seen: Seen[] = [];
  for (const type of [...STREAM_EVENTS, 'gap'] as const) {
    events.on(type, (payload: unknown, id?: string) => seen.push({ type, id, payload }));
  }
  return { events, seen };
}

const jobOf = (e: Seen) => (e.payload as { job?: { id: string } }).job?.id;

describe('QueueEvents: every lifecycle event of a queue, from any process', () => {
  it('a subscriber in another process and one here see the same events, with the payloads the local events carry', async () => {
    const name = uniqueQueue('qe');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'support', 'child-events.ts'), JSON.stringify({ connection: connection(), queue: name })],
      {
        cwd: join(__dirname, '..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const remote: Seen[] = [];
    let buffer = '';
    let ready = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') ready = true;
        else if (line) remote.push(JSON.parse(line) as Seen);
      }
    });
    try {
      const here = subscribe(name);
      await here.events.waitUntilReady();
      await waitFor(() => ready, 15_000, 'the child subscriber');
      const queue = h.queue(name);
      const sup = h.supervisor({
        queues: [name],
        handlers: { echo: fixture('echo'), throws: fixture('throws'), reporter: fixture('reporter') },
      });
      const local: Seen[] = [];
      for (const type of ['active', 'completed', 'failed', 'retrying', 'progress', 'canceled'] as const) {
        sup.on(type, (payload) => local.push({ type, payload }));
      }
      await sup.start();
      const ok = await queue.enqueue('echo', { n: 1 });
      const bad = await queue.enqueue('throws', { kind: 'error' }, { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } });
      const reporting = await queue.enqueue('reporter', { steps: 5, stepMs: 150 });
      const later = await queue.enqueue('echo', { n: 2 }, { delayMs: 60_000 });
      const gone = await queue.enqueue('echo', { n: 3 }, { delayMs: 60_000 });
      await queue.cancel(later.id, 'no longer needed');
      await queue.remove(gone.id);
      await queue.pause();
      await queue.resume();
      await queue.waitForResult(ok.id, { timeoutMs: 10_000 });
      await expect(queue.waitForResult(bad.id, { timeoutMs: 10_000 })).rejects.toThrow();
      await queue.waitForResult(reporting.id, { timeoutMs: 10_000 });
      await waitFor(
        () => here.seen.some((e) => e.type === 'resumed') && here.seen.filter((e) => e.type === 'completed').length === 2,
        10_000,
        'all events here',
      );
      await waitFor(() => remote.length === here.seen.length, 10_000, 'the same events in the child');

      expect(remote).toEqual(here.seen);
      const summary = here.seen.map((e) => `${e.type} ${jobOf(e) ?? ''}`.trim());
      expect(summary).toEqual(
        expect.arrayContaining([
          `added ${ok.id}`,
          `active ${ok.id}`,
          `completed ${ok.id}`,
          `retrying ${bad.id}`,
          `failed ${bad.id}`,
          `progress ${reporting.id}`,
          `delayed ${later.id}`,
          `canceled ${later.id}`,
          `removed ${gone.id}`,
          'paused',
          'resumed',
        ]),
      );
      expect(here.seen.find((e) => e.type === 'added' && jobOf(e) === later.id)!.payload).toMatchObject({ status: 'delayed' });
      // the very objects the supervisor's own events carried, type by type
      for (const type of ['active', 'completed', 'failed', 'retrying', 'progress'] as const) {
        const ofType = (list: Seen[]) => list.filter((e) => e.type === type).map((e) => e.payload);
        expect(ofType(here.seen)).toEqual(ofType(local));
      }
      expect(here.events.lastId).toBe(here.seen.at(-1)!.id);
      expect(here.seen.some((e) => e.type === 'gap')).toBe(false);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('a subscriber that stops and comes back with its last id misses nothing still in the stream', async () => {
    const name = uniqueQueue('qe');
    const queue = h.queue(name);
    const first = subscribe(name);
    await first.events.waitUntilReady();
    await queue.enqueue('echo', 1);
    await waitFor(() => first.seen.length === 1, 5_000, 'the first event');
    await first.events.close();
    const resumeFrom = first.events.lastId!;

    const whileAway = await queue.enqueueBulk(Array.from({ length: 1_200 }, (_, i) => ({ name: 'echo', data: i })));
    const back = subscribe(name, resumeFrom);
    await waitFor(() => back.seen.length === 1_200, 10_000, 'every event written while away');
    expect(back.seen.map(jobOf)).toEqual(whileAway.map((j) => j.id));
    expect(back.seen.some((e) => e.type === 'gap')).toBe(false);
  });

  it('says `gap`, with how many events it lost, when entries were trimmed before it read them', async () => {
    const name = uniqueQueue('qe');
    const queue = h.queue(name);
    const live = subscribe(name);
    await live.events.waitUntilReady();
    await queue.enqueue('echo', 1);
    await waitFor(() => live.seen.length === 1, 5_000, 'the first event');
    const stopped = subscribe(name, live.events.lastId!);
    await stopped.events.close();

    // 30 events and a trim to the last 10, at once: the live subscriber cannot read between them
    const stream = queueKeys('brokkr', name).events;
    const admin = adminClient();
    try {
      await admin.eval(
        `for i = 1, 30 do redis.call('XADD', KEYS[1], '*', 'type', 'paused', 'job', '', 'data', '{"queue":"' .. ARGV[1] .. '","at":' .. i .. '}') end
         redis.call('XTRIM', KEYS[1], 'MAXLEN', 10)`,
        1,
        stream,
        name,
      );
    } finally {
      admin.disconnect();
    }
    await waitFor(() => live.seen.length === 12, 5_000, 'the gap and the ten kept events');
    const gap = live.seen[1]!.payload as GapEvent;
    expect(live.seen[1]!.type).toBe('gap');
    expect(gap).toMatchObject({ queue: name, after: live.seen[0]!.id, missed: 20 });
    expect(live.seen.slice(2).map((e) => (e.payload as StreamEventMap['paused']).at)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(gap.resumedAt).toBe(live.seen[2]!.id);

    // one that resumes from an id of its own cannot count what it lost, but still says so
    const resumed = subscribe(name, stopped.events.lastId!);
    await waitFor(() => resumed.seen.length === 11, 5_000, 'gap and events for the resumed subscriber');
    expect(resumed.seen[0]).toMatchObject({ type: 'gap', payload: { missed: null } });
  });

  it('counts what was trimmed before the first read of a subscriber started on a queue with no stream yet, and a throwing listener does not stop it', async () => {
    const name = uniqueQueue('qe');
    const fresh = subscribe(name);
    await fresh.events.waitUntilReady();
    const errors: Error[] = [];
    fresh.events.on('error', (e) => errors.push(e));
    fresh.events.on('gap', () => {
      throw new Error('a gap listener bug');
    });
    const admin = adminClient();
    try {
      await admin.eval(
        `for i = 1, 30 do redis.call('XADD', KEYS[1], '*', 'type', 'paused', 'job', '', 'data', '{"queue":"' .. ARGV[1] .. '","at":' .. i .. '}') end
         redis.call('XTRIM', KEYS[1], 'MAXLEN', 10)`,
        1,
        queueKeys('brokkr', name).events,
        name,
      );
    } finally {
      admin.disconnect();
    }
    await waitFor(() => fresh.seen.length === 11, 5_000, 'the gap and the ten kept events');
    expect(fresh.seen[0]).toMatchObject({ type: 'gap', payload: { missed: 20 } });
    expect(errors.map((e) => e.message)).toEqual(['a gap listener bug']);
  });

  it('refuses a start position that is not a stream id', () => {
    expect(() => new QueueEvents('q', { connection: connection(), from: 'yesterday' })).toThrow(/from must be 'now', '0' or a stream id/);
  });
});

// keeps the type list honest: every name a listener can use is a stream event or gap
const names: (StreamEventName | 'gap')[] = [...STREAM_EVENTS, 'gap'];
void names;
