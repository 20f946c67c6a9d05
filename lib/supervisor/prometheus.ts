import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SupervisorEvents } from '../events';
import type { JobCounts } from '../job';

/** What the supervisor tells its Prometheus metrics besides its events, read at scrape time. */
export interface MeterSources {
  queues: readonly string[];
  /** jobs held now */
  running(): number;
  threadRestarts(): number;
  /** the queue's counts by status; null while the supervisor is not serving */
  counts(queue: string): Promise<JobCounts | null>;
}

/** How long a scrape waits for a queue's counts before leaving them out. */
const COUNTS_WAIT_MS = 2_000;

function withinScrape<T>(pending: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), COUNTS_WAIT_MS);
  });
  return Promise.race([pending.catch(() => null), late]).finally(() => clearTimeout(timer));
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/**
 * The supervisor's Prometheus metrics (prom-client), fed by its own events from the moment they
 * are first asked for: job counters, run and wait time histograms, jobs in flight, thread
 * restarts, broker outages, and each queue's jobs by status, read from Redis at scrape time.
 */
export class SupervisorMeters {
  readonly registry = new Registry();
  private readonly completed: Counter<'queue' | 'name'>;
  private readonly failed: Counter<'queue' | 'name'>;
  private readonly retried: Counter<'queue' | 'name'>;
  private readonly runSeconds: Histogram<'queue' | 'name'>;
  private readonly waitSeconds: Histogram<'queue' | 'name'>;
  private readonly outages: Counter;
  /** performance.now() at each held job's start, by id */
  private readonly started = new Map<string, number>();

  constructor(sources: MeterSources) {
    const registers = [this.registry];
    const jobLabels = ['queue', 'name'] as const;
    this.completed = new Counter({ name: 'brokkr_jobs_completed_total', help: 'Jobs completed', labelNames: jobLabels, registers });
    this.failed = new Counter({ name: 'brokkr_jobs_failed_total', help: 'Jobs failed for good', labelNames: jobLabels, registers });
    this.retried = new Counter({ name: 'brokkr_jobs_retried_total', help: 'Failed tries retried later', labelNames: jobLabels, registers });
    this.runSeconds = new Histogram({
      name: 'brokkr_job_run_seconds',
      help: 'From the start of a run on a thread to its outcome written',
      labelNames: jobLabels,
      buckets: SECONDS,
      registers,
    });
    this.waitSeconds = new Histogram({
      name: 'brokkr_job_wait_seconds',
      help: 'From enqueue to the start of a run (delays included)',
      labelNames: jobLabels,
      buckets: SECONDS,
      registers,
    });
    this.outages = new Counter({ name: 'brokkr_broker_outages_total', help: 'Times Redis stopped answering', registers });
    new Gauge({
      name: 'brokkr_jobs_in_flight',
      help: 'Jobs this supervisor holds: running, or leased and about to start',
      registers,
      collect() {
        this.set(sources.running());
      },
    });
    let restartsSeen = 0;
    new Counter({
      name: 'brokkr_thread_restarts_total',
      help: 'Worker threads replaced (timeouts, crashes, out of memory, recycling)',
      registers,
      collect() {
        const now = sources.threadRestarts();
        if (now > restartsSeen) this.inc(now - restartsSeen);
        restartsSeen = now;
      },
    });
    new Gauge({
      name: 'brokkr_queue_jobs',
      help: 'Jobs of each queue this supervisor serves, by status (read from Redis at scrape time)',
      labelNames: ['queue', 'status'],
      registers,
      async collect() {
        this.reset();
        // a queue Redis cannot count now (an outage, a refused command) is left out: the rest of the scrape still answers
        const all = await Promise.all(sources.queues.map(async (q) => [q, await withinScrape(sources.counts(q))] as const));
        for (const [queue, counts] of all) {
          for (const [status, n] of Object.entries(counts ?? {})) this.set({ queue, status }, n);
        }
      },
    });
  }

  /** Forgets the runs it was timing (close() gave up on writing their outcomes). */
  forgetRuns(): void {
    this.started.clear();
  }

  /** Fed every event the supervisor emits; `createdAt` is the started job's, for its wait time. */
  observe<E extends keyof SupervisorEvents>(event: E, payload: Parameters<SupervisorEvents[E]>[0], createdAt?: number): void {
    if (event === 'broker:down') {
      this.outages.inc();
      return;
    }
    const job = (payload as { job?: { id: string; queue: string; name: string } }).job;
    if (!job) return;
    const labels = { queue: job.queue, name: job.name };
    if (event === 'active') {
      this.started.set(job.id, performance.now());
      if (createdAt !== undefined) this.waitSeconds.observe(labels, Math.max(0, Date.now() - createdAt) / 1000);
      return;
    }
    const startedAt = this.started.get(job.id);
    if (event === 'completed' || event === 'failed' || event === 'retrying') {
      if (startedAt !== undefined) this.runSeconds.observe(labels, (performance.now() - startedAt) / 1000);
      (event === 'completed' ? this.completed : event === 'failed' ? this.failed : this.retried).inc(labels);
    }
    if (event !== 'timeout' && event !== 'progress') this.started.delete(job.id);
  }
}
