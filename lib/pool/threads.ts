import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { HandlerLoadError } from '../errors';
import {
  decodeReport,
  type FromThread,
  type Hello,
  type Poke,
  type Report,
  type RunNotes,
  type SessionTask,
  type ThreadData,
} from './protocol';
import type { SharedSlots } from './slots';

/** One worker thread's session, as the main thread sees it. R is what the pool keeps per run. */
export interface Session<R> {
  readonly port: MessagePort;
  /** index in the shared caps and depths */
  readonly seat: number;
  threadId: number;
  ready: boolean;
  /** how many jobs the thread asked for in its last report; 0 once answered */
  asked: number;
  /** how many more jobs it could start at once, as of its last report */
  idle: number;
  /** sequence number of the last batch sent */
  lastSent: number;
  lastReportAt: number;
  /** the runs sent to it and not yet finished */
  readonly runs: Set<R>;
  /** jobs sent over its life (for recycleAfterJobs) */
  given: number;
  idleSince: number;
  /** being ended on purpose: replaced (timeout, recycling) or released (idle) */
  ending: 'replace' | 'release' | null;
  readonly hello: Deferred<string[]>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

export interface ThreadOptions {
  threads: number;
  concurrency: number;
  handlers: ThreadData['handlers'];
  maxMemoryMb?: number;
  maxResultBytes: number;
  /** threads beyond the first are released after this long idle */
  threadIdleMs: number;
}

export interface ThreadHooks<R> {
  report(session: Session<R>, report: Report): void;
  /** progress and log lines of a running job */
  notes(notes: RunNotes): void;
  /** a session ended (its thread is gone); the pool settles the runs it held */
  ended(session: Session<R>, err: unknown): void;
  /** threads came or went, or caps moved: jobs may be served again */
  changed(): void;
  /** the queue depth threads may keep now (0 while jobs are long) */
  queueDepth(): number;
  /** trouble with a thread that is about no job */
  error(err: Error): void;
}

/**
 * The worker threads: piscina starts them, applies resourceLimits, and terminates and replaces
 * them; this class keeps one session per thread, shares `concurrency` out as per-thread caps,
 * replaces threads that end, releases idle ones and starts more on demand.
 */
export class ThreadSessions<R> {
  private readonly piscina: Piscina;
  private readonly sessions = new Set<Session<R>>();
  private idleCheck: NodeJS.Timeout | null = null;
  private started = false;
  private closing = false;
  /** no new thread before this time: one failed to load the handlers */
  private growNotBefore = 0;

  constructor(
    private readonly options: ThreadOptions,
    private readonly slots: SharedSlots,
    private readonly hooks: ThreadHooks<R>,
  ) {
    const workerData: ThreadData = { handlers: options.handlers, maxResultBytes: options.maxResultBytes, ...slots.buffers };
    this.piscina = new Piscina({
      ...threadEntry(),
      minThreads: 0,
      maxThreads: options.threads,
      // one session per thread; sessions end by termination, so idle piscina threads are leftovers
      concurrentTasksPerWorker: 1,
      idleTimeout: 1_000,
      // piscina's Atomics wait between tasks would block a thread's event loop; sessions never end between jobs
      atomics: 'disabled',
      workerData,
      ...(options.maxMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb } } : {}),
    });
    // a thread that dies with no task on it is replaced by piscina; the event must have a listener
    this.piscina.on('error', () => undefined);
  }

  get count(): number {
    return this.sessions.size;
  }

  /** threads replaced since start: ended for a timeout or recycling, or died */
  restarts = 0;

  all(): IterableIterator<Session<R>> {
    return this.sessions.values();
  }

  /** Starts every thread and loads the handler modules; resolves with the job names they provide. */
  async start(): Promise<string[]> {
    const sessions = Array.from({ length: this.options.threads }, () => this.open());
    const names = await Promise.all(sessions.map((s) => s.hello.promise));
    this.started = true;
    this.idleCheck = setInterval(() => this.releaseIdle(), Math.max(50, Math.min(1_000, this.options.threadIdleMs / 4)));
    this.idleCheck.unref();
    return names[0]!;
  }

  async destroy(): Promise<void> {
    this.closing = true;
    if (this.idleCheck) clearInterval(this.idleCheck);
    this.idleCheck = null;
    await this.piscina.destroy();
    // the sessions' tasks reject on destroy; let their settlement (after a setImmediate) run
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Ends a thread by terminating it: to replace it (a timeout, recycling) or to release it (idle). */
  end(session: Session<R>, why: 'replace' | 'release'): void {
    if (session.ending !== null) return;
    session.ending = why;
    this.shareCapacity();
    const worker = this.piscina.threads.find((w) => w.threadId === session.threadId);
    if (worker) void worker.terminate();
  }

  /** Starts one more thread when jobs wait and every thread is full, up to `threads`. */
  grow(): void {
    const starting = [...this.sessions].some((s) => !s.ready);
    if (!this.started || this.closing || starting || this.sessions.size >= this.options.threads || Date.now() < this.growNotBefore) return;
    this.open();
  }

  /** Short jobs may queue ahead in threads; the setting follows the pool's view of the jobs. */
  refreshDepths(): void {
    const depth = this.hooks.queueDepth();
    for (const s of this.sessions) if (s.ready && s.ending === null) this.setSeat(s, this.slots.cap(s.seat), depth);
  }

  private open(): Session<R> {
    const { port1, port2 } = new MessageChannel();
    const session: Session<R> = {
      port: port1,
      seat: this.slots.takeSeat(),
      threadId: 0,
      ready: false,
      asked: 0,
      idle: 0,
      lastSent: 0,
      lastReportAt: 0,
      runs: new Set(),
      given: 0,
      idleSince: Date.now(),
      ending: null,
      hello: deferred<string[]>(),
    };
    this.sessions.add(session);
    port1.on('message', (message: FromThread) => {
      if (typeof message === 'string') {
        session.lastReportAt = performance.now();
        this.hooks.report(session, decodeReport(message));
      } else if ('notes' in message) {
        this.hooks.notes(message);
      } else {
        this.onHello(session, message);
      }
    });
    const task: SessionTask = { port: port2, seat: session.seat };
    this.piscina.run(task, { transferList: [port2] }).then(
      () => this.onEnded(session, null),
      // reports travel on the session's port, not on piscina's channel: let those already sent arrive first
      (err: unknown) => setImmediate(() => this.onEnded(session, err)),
    );
    return session;
  }

  private onHello(session: Session<R>, hello: Hello): void {
    session.threadId = hello.threadId;
    if ('error' in hello) {
      session.hello.reject(new HandlerLoadError(hello.error.message));
      this.end(session, 'release');
      return;
    }
    session.ready = true;
    this.shareCapacity();
    session.hello.resolve(hello.names);
  }

  private onEnded(session: Session<R>, err: unknown): void {
    this.sessions.delete(session);
    this.slots.returnSeat(session.seat);
    session.port.close();
    session.hello.reject(
      new HandlerLoadError(`a worker thread ended before it loaded the handlers: ${(err as Error)?.message ?? 'no error'}`),
    );
    this.hooks.ended(session, err);
    if (this.closing || !this.started) return;
    if (!session.ready) {
      this.growNotBefore = Date.now() + 5_000;
      this.hooks.error(
        new HandlerLoadError(`a worker thread could not start: ${(err as Error)?.message ?? 'it ended before loading the handlers'}`),
      );
    } else if (session.ending !== 'release') {
      this.restarts++;
      this.open();
    }
    this.shareCapacity();
    this.hooks.changed();
  }

  /** The caps of the live threads add up to `concurrency`; how far they may queue ahead depends on the jobs. */
  private shareCapacity(): void {
    const live = [...this.sessions].filter((s) => s.ready && s.ending === null);
    const depth = this.hooks.queueDepth();
    const { concurrency } = this.options;
    live.forEach((s, i) => {
      this.setSeat(s, Math.floor(concurrency / live.length) + (i < concurrency % live.length ? 1 : 0), depth);
    });
  }

  /** Writes a thread's cap and depth; when either changed, the thread is asked to report again. */
  private setSeat(session: Session<R>, cap: number, depth: number): void {
    if (this.slots.setSeat(session.seat, cap, depth)) session.port.postMessage({ poke: true } satisfies Poke);
  }

  /** Threads beyond the first that had no job for threadIdleMs are released. */
  private releaseIdle(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      const live = [...this.sessions].filter((x) => x.ending === null).length;
      if (live <= 1) return;
      if (s.ending === null && s.ready && s.runs.size === 0 && now - s.idleSince >= this.options.threadIdleMs) this.end(s, 'release');
    }
  }
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * From the build, threads run the compiled thread.js. From source (brokkr's own tests), they run
 * thread.ts through tsx, which must be registered inside each thread.
 */
function threadEntry(): { filename: string; execArgv?: string[] } {
  const compiled = join(__dirname, 'thread.js');
  if (existsSync(compiled)) return { filename: compiled }; // threads inherit the process's execArgv
  return { filename: join(__dirname, 'thread.ts'), execArgv: ['--import', join(__dirname, 'dev-loader.mjs')] };
}
