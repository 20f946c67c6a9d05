import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { JobKind, System } from './systems';

const now = () => performance.timeOrigin + performance.now();
let queueCounter = 0;
const freshQueue = (label: string) => `bench-${label}-${Date.now().toString(36)}-${queueCounter++}`;

/** Jobs enqueued before the clock starts; the clock runs from "consumer ready" to the last completion. */
export async function throughput(
  system: System,
  admin: Redis,
  kind: JobKind,
  jobs: number,
  concurrency: number,
): Promise<{ jobsPerSec: number; startupMs: number }> {
  const queue = freshQueue('tp');
  await system.enqueueBulk(queue, kind, jobs);
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const startedAt = now();
  const consumer = await system.consume(queue, concurrency, () => {
    if (++done === jobs) finished();
  });
  const readyAt = now();
  await allDone;
  const elapsed = now() - readyAt;
  await consumer.close();
  await admin.flushall();
  return { jobsPerSec: jobs / (elapsed / 1000), startupMs: readyAt - startedAt };
}

/** enqueueBulk in chunks of 1,000, and single enqueues with 64 in flight. */
export async function enqueueRate(system: System, admin: Redis, jobs: number): Promise<{ bulkPerSec: number; singlePerSec: number }> {
  let t = now();
  await system.enqueueBulk(freshQueue('eb'), 'noop', jobs);
  const bulkPerSec = jobs / ((now() - t) / 1000);
  await admin.flushall();
  const queue = freshQueue('es');
  let next = 0;
  t = now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < jobs) {
        next++;
        await system.enqueueOne(queue, 'noop');
      }
    }),
  );
  const singlePerSec = jobs / ((now() - t) / 1000);
  await admin.flushall();
  return { bulkPerSec, singlePerSec };
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Pickup latency (enqueue call to handler start) with jobs enqueued one by one at a paced rate. */
export async function pickupLatency(system: System, admin: Redis, ratePerSec: number, jobs: number, concurrency: number): Promise<Latency> {
  const queue = freshQueue('lat');
  const latencies: number[] = [];
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const consumer = await system.consume(queue, concurrency, (latency) => {
    if (latency !== null) latencies.push(latency);
    if (latencies.length === jobs) finished();
  });
  await system.enqueueOne(queue, 'noop'); // warm the path once
  const interval = 1000 / ratePerSec;
  const start = now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < jobs; i++) {
    const due = start + i * interval;
    let wait = due - now();
    while (wait > 1) {
      await new Promise((r) => setTimeout(r, Math.max(0, wait - 1)));
      wait = due - now();
    }
    sends.push(system.enqueueOne(queue, 'stamp', now()));
  }
  await Promise.all(sends);
  await allDone;
  await consumer.close();
  await admin.flushall();
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/**
 * How late delayed jobs start: `jobs` jobs due evenly over `spreadMs` (from 1 s after the
 * enqueue began, so every job is stored before it is due), served by two consumers side by side
 * (two supervisors, two workers). Lateness is the handler's start minus the due time.
 */
export async function delayedLateness(system: System, admin: Redis, jobs: number, spreadMs: number): Promise<Latency> {
  if (!system.enqueueDelayed) throw new Error(`${system.name} has no delayed jobs in this suite`);
  const queue = freshQueue('delay');
  const lateness: number[] = [];
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const record = (late: number | null) => {
    if (late !== null) lateness.push(late);
    if (lateness.length === jobs) finished();
  };
  const consumers = [await system.consume(queue, 8, record), await system.consume(queue, 8, record)];
  const first = now() + 1_000;
  await system.enqueueDelayed(
    queue,
    Array.from({ length: jobs }, (_, i) => Math.round(first + (i * spreadMs) / jobs)),
  );
  await allDone;
  await Promise.all(consumers.map((c) => c.close()));
  await admin.flushall();
  const sorted = lateness.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** Sum of calls in INFO commandstats (it counts script calls and each command inside them). */
export async function commandCalls(admin: Redis): Promise<{ all: number; scripts: number }> {
  const info = await admin.info('commandstats');
  let all = 0;
  let scripts = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name, calls] = m;
    if (name === 'info' || name === 'config|resetstat') continue;
    all += Number(calls);
    if (name === 'evalsha' || name === 'eval' || name === 'fcall') scripts += Number(calls);
  }
  return { all, scripts };
}

/** Redis commands per job (enqueue plus processing), and bytes of Redis memory per queued job. */
export async function redisCost(
  system: System,
  admin: Redis,
  jobs: number,
): Promise<{ commandsPerJob: number; scriptCallsPerJob: number; bytesPerQueuedJob: number }> {
  await admin.flushall();
  const before = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  const queue = freshQueue('cost');
  await admin.config('RESETSTAT');
  await system.enqueueBulk(queue, 'noop', jobs);
  const after = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const consumer = await system.consume(queue, 8, () => {
    if (++done === jobs) finished();
  });
  await allDone;
  const calls = await commandCalls(admin);
  await consumer.close();
  await admin.flushall();
  return { commandsPerJob: calls.all / jobs, scriptCallsPerJob: calls.scripts / jobs, bytesPerQueuedJob: (after - before) / jobs };
}

/** Commands per second an idle consumer sends, over `seconds`. */
export async function idleCost(system: System, admin: Redis, seconds: number): Promise<number> {
  const consumer = await system.consume(freshQueue('idle'), 8, () => undefined);
  await new Promise((r) => setTimeout(r, 1_000));
  await admin.config('RESETSTAT');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const calls = await commandCalls(admin);
  await consumer.close();
  await admin.flushall();
  return calls.all / seconds;
}

/**
 * brokkr's memory after `first` jobs and after `total` jobs, each measured once results have
 * expired and a heartbeat has trimmed the registries: the RSS of a supervisor process of its own
 * (see stability-child.ts), and Redis's used memory.
 */
export async function stability(
  url: string,
  admin: Redis,
  first: number,
  total: number,
): Promise<{ rss: [number, number]; redis: [number, number] }> {
  const fromSource = __filename.endsWith('.ts');
  const script = join(__dirname, fromSource ? 'stability-child.ts' : 'stability-child.js');
  const child = spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), script, url, String(first), String(total)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`stability child exited with ${code}`);
  const rss = JSON.parse(out.trim().split('\n').pop()!) as [number, number];
  const redis = (await admin.get('bench:stability:redis'))!.split(',').map(Number) as [number, number];
  await admin.flushall();
  return { rss, redis };
}
