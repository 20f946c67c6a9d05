import type { Broker, LeasedJob } from '../broker';
import { withRetry } from '../retry';
import { nextTick, tickDue } from '../schedule';

/**
 * Keeps recurring schedules moving, from any supervisor, with no leader: the supervisor that
 * takes a schedule's tick plans the next one (a compare-and-set on the pending tick, so one
 * tick is planned once however many supervisors race), and the heartbeat moves on schedules
 * whose pending tick is gone or was taken by a supervisor that died before planning the next.
 */
export class ScheduleKeeper {
  private readonly abort = new AbortController();

  constructor(
    private readonly broker: Broker,
    private readonly retryMaxDelayMs: number,
    private readonly report: (err: unknown) => void,
  ) {}

  /** A tick of a schedule was leased: plan the next (retried through outages until stop()). */
  taken(queue: string, job: LeasedJob): void {
    const scheduleId = job.schedule!;
    const tickAt = tickDue(job.id);
    const plan = async () => {
      const schedule = await this.broker.getSchedule(queue, scheduleId);
      if (!schedule || schedule.pending !== job.id) return; // replaced, removed, or moved on already
      const nextAt = nextTick(schedule.spec, Math.max(Date.now(), tickAt), schedule.anchor);
      await this.broker.advanceSchedule(queue, scheduleId, job.id, tickAt, nextAt);
    };
    withRetry(plan, { maxDelayMs: this.retryMaxDelayMs, signal: this.abort.signal }).catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.report(err);
    });
  }

  /** Moves on the schedules of a queue that nobody moved on; called now and then by the heartbeat. */
  async repair(queue: string): Promise<void> {
    for (const s of await this.broker.staleSchedules(queue)) {
      const due = tickDue(s.pending);
      // a tick taken and finished without the schedule moving on still counts (limit, lastRunAt);
      // a tick that is gone may have been deleted unrun, so it does not
      const taken = s.pendingStatus === 'completed' || s.pendingStatus === 'failed' || s.pendingStatus === 'retrying';
      // never before the pending tick's due time: this clock may lag the one that planned it
      await this.broker.advanceSchedule(queue, s.id, s.pending, taken ? due : null, nextTick(s.spec, Math.max(Date.now(), due), s.anchor));
    }
  }

  stop(): void {
    this.abort.abort(new Error('schedule keeper stopped'));
  }
}
