import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { type ResolvedSupervisorOptions, resolveSupervisorOptions, type SupervisorOptions } from '../config';
import { ErrorCodes } from '../errors';
import type { SupervisorEvents } from '../events';
import { logSafely } from '../logger';
import { Lifecycle } from './lifecycle';
import type { Registry } from 'prom-client';

/**
 * The actor that owns the Redis connections and the thread pool: threads pull jobs it leased
 * from the queues (in the order given), and it records each outcome with the run's lease token,
 * then emits the event. Nothing about a job is only in memory: a held run is active with a lease
 * in Redis until its outcome is written. The parts live in their own modules (see lifecycle.ts);
 * this class is the public face and the one guarded place events leave from.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly id: string;
  private readonly options: ResolvedSupervisorOptions;
  private readonly lifecycle: Lifecycle;

  constructor(options: SupervisorOptions) {
    super();
    this.options = resolveSupervisorOptions(options);
    const tokenBase = randomBytes(6).toString('hex');
    this.id = `${hostname()}:${process.pid}:${tokenBase}`;
    this.lifecycle = new Lifecycle(
      this.options,
      this.id,
      tokenBase,
      (event, ...args) => this.emitSafe(event, ...args),
      (err) => this.report(err),
    );
  }

  /** Jobs this supervisor holds: ready, running on a thread, or finished with the outcome not yet written. */
  get running(): number {
    return this.lifecycle.running;
  }

  /** Live worker threads (more start on demand up to `threads`; idle ones are released). */
  get threadCount(): number {
    return this.lifecycle.threadCount;
  }

  /**
   * The supervisor's Prometheus metrics as a prom-client Registry (serve `await registry.metrics()`
   * with `registry.contentType`). Counting starts at the first call: call it before start().
   */
  metrics(): Registry {
    return this.lifecycle.metrics().registry;
  }

  /** Starts the threads (loading the handler modules), connects, and begins to serve. */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /**
   * Stops fetching and lets jobs in flight finish within `graceMs` (default `shutdownGraceMs`);
   * then terminates their threads and puts their jobs back without charging an attempt.
   * Idempotent: a second call returns the same promise, and one with `graceMs: 0` cuts the grace
   * of a close already under way (a cold shutdown).
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    return this.lifecycle.close(options.graceMs ?? this.options.shutdownGraceMs);
  }

  /** Outages are reported once each, as broker:down / broker:up; anything else goes to `error`. */
  private report(err: unknown): void {
    if ((err as { code?: unknown } | null)?.code === ErrorCodes.BROKER_UNAVAILABLE) return;
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount('error') > 0) this.emitSafe('error', error);
    else logSafely(this.options.logger, 'error', { event: 'supervisor:error', code: (error as { code?: string }).code }, error.message);
  }

  /** A listener that throws is logged; it never breaks the loop. */
  private emitSafe<E extends keyof SupervisorEvents>(event: E, ...args: Parameters<SupervisorEvents[E]>): void {
    try {
      (this.emit as (e: E, ...a: Parameters<SupervisorEvents[E]>) => boolean)(event, ...args);
    } catch (err) {
      logSafely(
        this.options.logger,
        'error',
        { event: 'supervisor:listener-threw', listener: String(event) },
        `a listener of "${String(event)}" threw: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }
}
