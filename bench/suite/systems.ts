import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Queue, Supervisor } from '../../lib';

/** What each benchmark job does; 'stamp' returns its pickup latency (handler start minus `at`). */
export type JobKind = 'noop' | 'cpu' | 'stamp';

export interface Consumer {
  close(): Promise<void>;
}

/**
 * How finished jobs are kept. production: what each system's docs recommend for production (brokkr
 * with resultTtlMs 0, BullMQ with removeOnComplete and removeOnFail, bee-queue with removeOnSuccess
 * and removeOnFailure); keep-all: each system's default (brokkr keeps records 24 h / 7 days by TTL,
 * BullMQ and bee-queue keep every finished job).
 */
export type Retention = 'production' | 'keep-all';

/** One job queue under test, driven the same way as the others. */
export interface System {
  readonly name: string;
  readonly retention: Retention;
  enqueueBulk(queue: string, kind: JobKind, count: number): Promise<void>;
  /** `at`: when the enqueue call began, for 'stamp' jobs */
  enqueueOne(queue: string, kind: JobKind, at?: number): Promise<void>;
  /** 'stamp' jobs each due at one of `dueTimes` (epoch ms): their latency is how late they start; absent where not compared */
  enqueueDelayed?(queue: string, dueTimes: number[]): Promise<void>;
  /**
   * Starts consuming and resolves once the consumer is ready and has just begun (the clock starts
   * then). `done` is called after each outcome is stored, with a 'stamp' job's latency.
   */
  consume(queue: string, concurrency: number, done: (latencyMs: number | null) => void): Promise<Consumer>;
  close(): Promise<void>;
}

const handlersDir = join(__dirname, '..', 'handlers');
const ext = __filename.endsWith('.ts') ? 'ts' : 'js';
const cpuSpin = () => {
  const until = performance.now() + 2;
  while (performance.now() < until) {
    // busy
  }
};
const now = () => performance.timeOrigin + performance.now();

export function brokkr(url: string, threads: number, retention: Retention): System {
  const queues = new Map<string, Queue>();
  const q = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: url });
      queues.set(name, queue);
    }
    return queue;
  };
  return {
    name: 'brokkr',
    retention,
    async enqueueBulk(queue, kind, count) {
      for (let i = 0; i < count; i += 1000) {
        await q(queue).enqueueBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: kind, data: null })));
      }
    },
    async enqueueOne(queue, kind, at) {
      await q(queue).enqueue(kind, at === undefined ? null : { at });
    },
    async enqueueDelayed(queue, dueTimes) {
      for (let i = 0; i < dueTimes.length; i += 1000) {
        const chunk = dueTimes.slice(i, i + 1000);
        await q(queue).enqueueBulk(chunk.map((at) => ({ name: 'stamp', data: { at }, opts: { runAt: at } })));
      }
    },
    async consume(queue, concurrency, done) {
      const supervisor = new Supervisor({
        connection: url,
        queues: [queue],
        threads,
        concurrency,
        ...(retention === 'production' ? { resultTtlMs: 0 } : {}),
        handlers: {
          noop: join(handlersDir, `noop.${ext}`),
          cpu: join(handlersDir, `cpu.${ext}`),
          stamp: join(handlersDir, `stamp.${ext}`),
        },
        logger: { warn: () => undefined, error: (_fields, m: string) => process.stderr.write(`${m}\n`) },
      });
      supervisor.on('completed', (e) => done(typeof e.result === 'number' ? e.result : null));
      supervisor.on('failed', (e) => process.stderr.write(`brokkr job failed: ${e.error.message}\n`));
      await supervisor.start();
      return { close: () => supervisor.close() };
    },
    async close() {
      await Promise.all([...queues.values()].map((x) => x.close()));
    },
  };
}

export function bullmq(url: string, mode: 'in-process' | 'sandboxed', retention: Retention): System {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queues = new Map<string, BullQueue>();
  const q = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      const remove = retention === 'production' ? { removeOnComplete: true, removeOnFail: true } : {};
      queue = new BullQueue(name, { connection, defaultJobOptions: remove });
      queues.set(name, queue);
    }
    return queue;
  };
  return {
    name: mode === 'in-process' ? 'BullMQ' : 'BullMQ sandboxed',
    retention,
    async enqueueBulk(queue, kind, count) {
      for (let i = 0; i < count; i += 1000) {
        await q(queue).addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: kind, data: { kind } })));
      }
    },
    async enqueueOne(queue, kind, at) {
      await q(queue).add(kind, { kind, at });
    },
    async enqueueDelayed(queue, dueTimes) {
      for (let i = 0; i < dueTimes.length; i += 1000) {
        const chunk = dueTimes.slice(i, i + 1000);
        await q(queue).addBulk(
          chunk.map((at) => ({ name: 'stamp', data: { kind: 'stamp' as const, at }, opts: { delay: at - Date.now() } })),
        );
      }
    },
    async consume(queue, concurrency, done) {
      const processor =
        mode === 'sandboxed'
          ? join(handlersDir, 'bullmq-sandboxed.js') // BullMQ's threads load JavaScript only: the suite runs from the build
          : async (job: { data: { kind: JobKind; at?: number } }) => {
              const startedAt = now();
              if (job.data.kind === 'cpu') cpuSpin();
              return job.data.kind === 'stamp' ? startedAt - (job.data.at ?? 0) : null;
            };
      const worker = new BullWorker(queue, processor, {
        connection,
        concurrency,
        autorun: false,
        ...(mode === 'sandboxed' ? { useWorkerThreads: true } : {}),
      });
      worker.on('completed', (_job, result: unknown) => done(typeof result === 'number' ? result : null));
      worker.on('failed', (_job, err) => process.stderr.write(`BullMQ job failed: ${err.message}\n`));
      await worker.waitUntilReady();
      void worker.run();
      return { close: () => worker.close() };
    },
    async close() {
      await Promise.all([...queues.values()].map((x) => x.close()));
    },
  };
}

export function beeQueue(url: string, retention: Retention): System {
  const { hostname, port } = new URL(url);
  const redis = { host: hostname, port: Number(port) };
  const producers = new Map<string, BeeQueue>();
  const q = (name: string) => {
    let queue = producers.get(name);
    if (!queue) {
      queue = new BeeQueue(name, { redis, isWorker: false, getEvents: false });
      producers.set(name, queue);
    }
    return queue;
  };
  return {
    name: 'bee-queue',
    retention,
    async enqueueBulk(queue, kind, count) {
      const producer = q(queue);
      for (let i = 0; i < count; i += 1000) {
        await producer.saveAll(Array.from({ length: Math.min(1000, count - i) }, () => producer.createJob({ kind })));
      }
    },
    async enqueueOne(queue, kind, at) {
      await q(queue).createJob({ kind, at }).save();
    },
    async consume(queue, concurrency, done) {
      const remove = retention === 'production' ? { removeOnSuccess: true, removeOnFailure: true } : {};
      const worker = new BeeQueue(queue, { redis, getEvents: false, sendEvents: false, ...remove });
      await worker.ready();
      worker.process(concurrency, async (job: { data: { kind: JobKind; at?: number } }) => {
        const startedAt = now();
        if (job.data.kind === 'cpu') cpuSpin();
        return job.data.kind === 'stamp' ? startedAt - (job.data.at ?? 0) : null;
      });
      // emitted after bee-queue has written the outcome to Redis, like the others' completion events
      worker.on('succeeded', (_job: unknown, result: unknown) => done(typeof result === 'number' ? result : null));
      return { close: () => worker.close() };
    },
    async close() {
      await Promise.all([...producers.values()].map((x) => x.close()));
    },
  };
}
