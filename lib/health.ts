import { redact } from './redact';
import { EventEmitter } from 'eventemitter3';

export interface BrokerDownEvent {
  /** when the outage was first noticed (ms since the epoch) */
  at: number;
  /** what showed it */
  error: string;
}

export interface BrokerUpEvent {
  at: number;
  /** how long Redis was unreachable, as far as this process could tell */
  downtimeMs: number;
}

/** Whether the broker answers, as seen by one process: `down` and `up` fire once per outage. */
export class BrokerHealth extends EventEmitter<{ down: (e: BrokerDownEvent) => void; up: (e: BrokerUpEvent) => void }> {
  private downSince: number | null = null;

  get isDown(): boolean {
    return this.downSince !== null;
  }

  markDown(err: unknown): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.emit('down', { at: this.downSince, error: redact((err as Error)?.message ?? String(err)) });
  }

  markUp(): void {
    if (this.downSince === null) return;
    const at = Date.now();
    const downtimeMs = at - this.downSince;
    this.downSince = null;
    this.emit('up', { at, downtimeMs });
  }
}
