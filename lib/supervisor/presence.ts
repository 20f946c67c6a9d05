import { hostname } from 'node:os';
import type { Broker } from '../broker';
import { isRetryable } from '../retry';
import { VERSION } from '../version';
import type { WorkerInfo } from '../workers';

/** How many heartbeats a registration outlives: one missed beat (a slow Redis) does not drop it. */
const BEATS_PER_REGISTRATION = 3;
/** close() does not wait longer than this for Redis to take the registration away; it expires anyway. */
const LEAVE_WAIT_MS = 1_000;

export interface PresenceSettings {
  id: string;
  queues: string[];
  concurrency: number;
  threads: number;
  heartbeatMs: number;
}

/**
 * The supervisor's entry in the registry: written at start and every heartbeatMs, taken away at
 * close. A supervisor that dies simply stops renewing it, and it expires (3 beats) with nobody
 * cleaning up.
 */
export class Presence {
  private readonly startedAt = Date.now();
  private completed = 0;
  private failed = 0;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  /** a refusal (an ACL without the registry's rules) is reported once, not every beat */
  private refusedBefore = false;

  constructor(
    private readonly broker: Broker,
    private readonly settings: PresenceSettings,
    private readonly running: () => number,
    private readonly report: (err: unknown) => void,
  ) {}

  count(outcome: 'completed' | 'failed'): void {
    if (outcome === 'completed') this.completed++;
    else this.failed++;
  }

  info(): WorkerInfo {
    const s = this.settings;
    return {
      id: s.id,
      host: hostname(),
      pid: process.pid,
      queues: s.queues,
      concurrency: s.concurrency,
      threads: s.threads,
      version: VERSION,
      startedAt: this.startedAt,
      running: this.running(),
      completed: this.completed,
      failed: this.failed,
      lastHeartbeat: Date.now(),
    };
  }

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.settings.heartbeatMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    const leave = this.broker.observe.unregister(this.settings.id, this.settings.queues).catch(() => undefined);
    await Promise.race([leave, new Promise((resolve) => setTimeout(resolve, LEAVE_WAIT_MS).unref())]);
  }

  private beat(): void {
    if (this.beating) return; // the last one is still under way (Redis slow or away)
    const ttlMs = this.settings.heartbeatMs * BEATS_PER_REGISTRATION;
    this.beating = this.broker.observe
      .register(this.info(), ttlMs)
      .then(() => {
        this.refusedBefore = false;
      })
      .catch((err: unknown) => {
        // an outage is reported as broker:down already
        if (!isRetryable(err) && !this.refusedBefore) this.report(err);
        if (!isRetryable(err)) this.refusedBefore = true;
      })
      .finally(() => {
        this.beating = null;
      });
  }
}
