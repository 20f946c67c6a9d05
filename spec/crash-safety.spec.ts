import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEphemeralRedis } from '../scripts/ephemeral-redis';
import { ErrorCodes } from '../lib/errors';
import { Queue } from '../lib/queue';
import { Supervisor } from '../lib/supervisor/supervisor';
import { queueKeys } from '../lib/redis/keys';
import {
  adminClient,
  Harness,
  fixture,
  memoryLogger,
  spawnSupervisor,
  uniqueQueue,
  waitFor,
  type ChildSupervisor,
} from './support/helpers';

const h = new Harness();
const children: ChildSupervisor[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await h.closeAll();
});

describe('a supervisor killed with SIGKILL', () => {
  it('has its jobs put back by a live supervisor, which runs each to one final state', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const jobs = await queue.enqueueBulk(['a', 'b', 'c'].map((value) => ({ name: 'slow', data: { value }, opts: { timeoutMs: 0 } })));
    const doomed = spawnSupervisor({
      queues: [name],
      handlers: { slow: 'slow-first' },
      options: { concurrency: 3, leaseMs: 600 },
    });
    children.push(doomed);
    await doomed.ready;
    await waitFor(() => doomed.lines.filter((l) => l.startsWith('active')).length === 3, 15_000, 'three jobs active in the child');
    doomed.child.kill('SIGKILL');
    await doomed.exited;

    const rescuer = h.supervisor({ queues: [name], concurrency: 3, leaseMs: 600, handlers: { slow: fixture('slow-first') } });
    const stalled: string[] = [];
    const completed: string[] = [];
    rescuer.on('stalled', (e) => stalled.push(`${e.job.id} ${e.stalls}`));
    rescuer.on('completed', (e) => completed.push(e.job.id));
    await rescuer.start();
    const results = await Promise.all(jobs.map((j) => queue.waitForResult(j.id, { timeoutMs: 20_000 })));
    expect(results).toEqual(['a on attempt 2', 'b on attempt 2', 'c on attempt 2']);
    await waitFor(() => completed.length === 3, 5_000, 'completed events');
    expect(stalled.sort()).toEqual(jobs.map((j) => `${j.id} 1`).sort());
    expect(completed.sort()).toEqual(jobs.map((j) => j.id).sort());
    for (const j of jobs) {
      const info = await queue.getJob(j.id);
      expect(info).toMatchObject({ status: 'completed', attempts: 2 });
    }
  });

  it('ends a poison job that kills every host it runs on as failed after maxStalls', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const log = join(mkdtempSync(join(tmpdir(), 'brokkr-poison-')), 'runs.log');
    const poison = await queue.enqueue('poison', { log });
    const options = { leaseMs: 500, maxStalls: 2 };
    let hosts = 0;
    while ((await queue.getJob(poison.id))?.status !== 'failed') {
      expect(hosts).toBeLessThan(6);
      const host = spawnSupervisor({ queues: [name], handlers: { poison: 'kill-host' }, options });
      children.push(host);
      hosts++;
      // a host that finds the job failed already lives on; one that runs it dies
      await Promise.race([host.exited, waitFor(async () => (await queue.getJob(poison.id))?.status === 'failed', 20_000, 'poison failed')]);
      await new Promise((r) => setTimeout(r, 600)); // let the dead host's lease run out
    }
    const runs = readFileSync(log, 'utf8').trim().split('\n');
    expect(runs).toHaveLength(3); // the first run and one per allowed stall
    const info = await queue.getJob(poison.id);
    expect(info).toMatchObject({ status: 'failed', error: { name: 'JobStalledError', code: ErrorCodes.JOB_STALLED } });
    expect(info!.error!.message).toContain('more than maxStalls (2)');
  });
});

describe('leases', () => {
  it('a lease a supervisor took but never got (its reply lost in an outage) goes back free: no stall, no attempt charged', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], leaseMs: 600, handlers: { sleep: fixture('sleep') } });
    const requeued: string[] = [];
    sup.on('requeued', (e) => requeued.push(`${e.job.id} ${e.reason}`));
    const stalled: string[] = [];
    sup.on('stalled', (e) => stalled.push(e.job.id));
    await sup.start();
    // what a turn leaves in Redis when Redis ran it but its reply never arrived: the job active
    // under a token of this supervisor's, with a lease this supervisor does not know it holds
    const job = await queue.enqueue('sleep', { ms: 1, value: 'ran once' }, { delayMs: 60_000 });
    const k = queueKeys('brokkr', name);
    const admin = adminClient();
    const tokenBase = sup.id.slice(sup.id.lastIndexOf(':') + 1);
    await admin.zrem(k.delayed, job.id);
    await admin.hset(k.job(job.id), { status: 'active', attempts: 1, token: `${tokenBase}.lost.1`, owner: sup.id });
    await admin.zadd(k.active, Date.now() - 1_000, job.id);
    admin.disconnect();
    await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).resolves.toBe('ran once');
    expect(requeued).toEqual([`${job.id} lost-reply`]);
    expect(stalled).toEqual([]);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('a supervisor frozen past its lease (SIGSTOP) loses the job to another, and its late outcome is dropped', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const frozen = spawnSupervisor({ queues: [name], handlers: { sleep: 'sleep' }, options: { leaseMs: 500 } });
    children.push(frozen);
    await frozen.ready;
    const job = await queue.enqueue('sleep', { ms: 1_000, value: 'result' });
    await waitFor(() => frozen.lines.includes(`active ${job.id}`), 10_000, 'job active in the child');
    frozen.child.kill('SIGSTOP');
    const rescuer = h.supervisor({ queues: [name], leaseMs: 500, handlers: { sleep: fixture('sleep') } });
    const completed: string[] = [];
    rescuer.on('completed', (e) => completed.push(`${e.job.id} attempt ${e.job.attempt}`));
    await rescuer.start();
    await waitFor(() => completed.length === 1, 15_000, 'the rescuer to complete the job');
    frozen.child.kill('SIGCONT');
    await waitFor(() => frozen.lines.includes(`dropped ${job.id}`), 15_000, 'the frozen supervisor to drop its late outcome');
    expect(completed).toEqual([`${job.id} attempt 2`]);
    expect(frozen.lines).not.toContain(`completed ${job.id}`);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'completed', attempts: 2, result: 'result' });
  });

  it('a CPU-bound handler blocking its thread for several lease lengths is never marked stalled or run twice', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const runner = h.supervisor({ queues: [name], threads: 1, leaseMs: 300, handlers: { cpu: fixture('cpu') } });
    const watcher = h.supervisor({ queues: [name], threads: 1, leaseMs: 300, handlers: { cpu: fixture('cpu') } });
    const events: string[] = [];
    for (const sup of [runner, watcher]) {
      sup.on('stalled', (e) => events.push(`stalled ${e.job.id}`));
      sup.on('active', (e) => events.push(`active ${e.job.id}`));
      sup.on('dropped', (e) => events.push(`dropped ${e.job.id}`));
    }
    await runner.start();
    const job = await queue.enqueue('cpu', { ms: 2_000 });
    await waitFor(() => events.length === 1, 10_000, 'the job active');
    await watcher.start(); // reaps every 100 ms while the job blocks its thread for ~7 lease lengths
    await expect(queue.waitForResult(job.id, { timeoutMs: 20_000 })).resolves.toBe(true);
    expect(events).toEqual([`active ${job.id}`]);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('a job record deleted with redis-cli while it runs is reported and the supervisor carries on', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], handlers: { sleep: fixture('sleep') } });
    const dropped: string[] = [];
    sup.on('dropped', (e) => dropped.push(`${e.job.id}: ${e.reason}`));
    await sup.start();
    const job = await queue.enqueue('sleep', { ms: 500 });
    await waitFor(async () => (await queue.getJob(job.id))?.status === 'active', 10_000, 'job active');
    const admin = adminClient();
    await admin.del(`brokkr:{${name}}:job:${job.id}`);
    admin.disconnect();
    await waitFor(() => dropped.length === 1, 10_000, 'dropped event');
    expect(dropped[0]).toBe(`${job.id}: the job record no longer exists`);
    const next = await queue.enqueue('sleep', { ms: 1, value: 'next' });
    await expect(queue.waitForResult(next.id, { timeoutMs: 10_000 })).resolves.toBe('next');
  });
});

describe('shutdown', () => {
  it('SIGTERM lets the job in flight finish, then the process exits by itself', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const host = spawnSupervisor({ queues: [name], handlers: { record: 'record' }, options: { handleSignals: true } });
    children.push(host);
    await host.ready;
    const dir = mkdtempSync(join(tmpdir(), 'brokkr-sigterm-'));
    const job = await queue.enqueue('record', { dir, ms: 800 });
    // started in its thread (`active` fires at dispatch, and a job not started yet is put back instead)
    const started = () => readdirSync(dir).some((f) => readFileSync(join(dir, f), 'utf8').includes(job.id));
    await waitFor(started, 10_000, 'job started');
    host.child.kill('SIGTERM');
    const exit = await host.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'completed', result: job.id });
  });

  it('a second signal makes it cold: the job is terminated and put straight back, no attempt charged', async () => {
    const name = uniqueQueue();
    const queue = h.queue(name);
    const host = spawnSupervisor({
      queues: [name],
      handlers: { spin: 'spin' },
      options: { handleSignals: true, shutdownGraceMs: 60_000 },
    });
    children.push(host);
    await host.ready;
    const job = await queue.enqueue('spin', {}, { timeoutMs: 0 });
    await waitFor(() => host.lines.includes(`active ${job.id}`), 10_000, 'job active');
    const sent = Date.now();
    host.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    host.child.kill('SIGINT');
    const exit = await host.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - sent).toBeLessThan(20_000); // far inside the 60 s grace
    expect(host.lines).toContain(`requeued ${job.id}`);
    expect(await queue.getJob(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('close() resolves within its deadline when Redis is unreachable, and when the queue is empty', async () => {
    const redis = await startEphemeralRedis();
    try {
      const name = uniqueQueue();
      const idle = new Supervisor({
        connection: redis.url,
        queues: [name],
        threads: 1,
        logger: memoryLogger(),
        handlers: { sleep: fixture('sleep') },
      });
      await idle.start();
      let t = Date.now();
      await idle.close();
      expect(Date.now() - t).toBeLessThan(3_000);

      const queue = new Queue(name, { connection: redis.url });
      const logger = memoryLogger();
      const busy = new Supervisor({
        connection: redis.url,
        queues: [name],
        threads: 1,
        shutdownGraceMs: 300,
        logger,
        handlers: { sleep: fixture('sleep') },
      });
      busy.on('error', () => undefined);
      await busy.start();
      const job = await queue.enqueue('sleep', { ms: 30_000 }, { timeoutMs: 0 });
      await waitFor(async () => (await queue.getJob(job.id))?.status === 'active', 10_000, 'job active');
      await queue.close();
      redis.signal('SIGKILL');
      t = Date.now();
      await busy.close();
      expect(Date.now() - t).toBeLessThan(12_000); // 300 ms grace + 5 s of final write attempts + slack
      expect(logger.lines.some((l) => l.includes('unwritten'))).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(existsSync(redis.dir)).toBe(false);
  });
});
