import type { SerializedError } from './errors';
import type { BrokerDownEvent, BrokerUpEvent } from './health';

export type { BrokerDownEvent, BrokerUpEvent };

/** Who a job event is about. */
export interface JobEventInfo {
  id: string;
  queue: string;
  name: string;
  /** Which run this is (1 for the first handler start). */
  attempt: number;
}

/** A job was created (attempt 0): `status` is where it starts (deferred: it waits for its dependencies). */
export interface AddedEvent {
  job: JobEventInfo;
  status: 'queued' | 'delayed' | 'deferred';
}
/** A job waits until `runAt` (epoch ms, by the Redis server's clock): created with a delay, or debounced again. */
export interface DelayedEvent {
  job: JobEventInfo;
  runAt: number;
}
/** A job was deleted by queue.remove(); `status` is the one it had. */
export interface RemovedEvent {
  job: JobEventInfo;
  status: string;
}
/** Locally: a run started on a thread. In the stream: the job was leased (it may wait a moment, prefetched). */
export interface ActiveEvent {
  job: JobEventInfo;
}
export interface CompletedEvent {
  job: JobEventInfo;
  result: unknown;
  finishedAt: number;
  /**
   * Only in the queue's event stream: the result was larger than `eventDataMaxBytes`, so the
   * entry leaves it out (read it from the job record).
   */
  resultOmitted?: true;
}
export interface FailedEvent {
  job: JobEventInfo;
  /** In the queue's event stream, an error larger than `eventDataMaxBytes` travels without its stack. */
  error: SerializedError;
  finishedAt: number;
}
/** A try failed with tries left: the job waits `delayMs` (its backoff), then runs again at `nextRunAt`. */
export interface RetryingEvent {
  job: JobEventInfo;
  /** In the queue's event stream, an error larger than `eventDataMaxBytes` travels without its stack. */
  error: SerializedError;
  delayMs: number;
  /** epoch ms, by the Redis server's clock */
  nextRunAt: number;
}
export interface TimeoutEvent {
  job: JobEventInfo;
  error: SerializedError;
  timeoutMs: number;
}
/** Put back to waiting through no fault of its own; the attempt is given back. */
export interface RequeuedEvent {
  job: JobEventInfo;
  reason: RequeueReason;
}
/** A job was canceled (queue.cancel), from any process: at once, or once its run stopped. */
export interface CanceledEvent {
  job: JobEventInfo;
  reason: string;
  /** epoch ms, by the Redis server's clock */
  canceledAt: number;
}
/** A running job reported progress (ctx.progress): the last value of a moment, once written. */
export interface ProgressEvent {
  job: JobEventInfo;
  progress: unknown;
}
/** A job whose lease expired (its supervisor died or lost Redis) was put back by this supervisor. */
export interface StalledEvent {
  job: JobEventInfo;
  stalls: number;
}
/** A queue was paused or resumed (queue.pause(), queue.resume()), from any process. */
export interface QueueFlowEvent {
  queue: string;
  /** epoch ms, by the Redis server's clock */
  at: number;
}
/** A run's outcome was not written because its lease had passed to another run, or its record was gone. */
export interface DroppedEvent {
  job: JobEventInfo;
  reason: string;
}

/**
 * thread-replaced: its thread was ended for another job's timeout or recycled; shutdown: close()
 * ran out of grace; thread-crashed: its thread died and nothing showed which job caused it;
 * lost-reply: this supervisor leased it in a call whose reply was lost in an outage, so it never
 * started; it went back when its lease expired. paused: leased ahead (prefetched) and not started when its
 * queue was paused; rate-limited: its handler called ctx.rateLimit().
 */
export type RequeueReason = 'thread-replaced' | 'shutdown' | 'thread-crashed' | 'lost-reply' | 'paused' | 'rate-limited';

/** Job events in the order they can happen to one run: active, then timeout?, then completed | failed | retrying | requeued | dropped. */
export interface SupervisorEvents {
  active: (event: ActiveEvent) => void;
  completed: (event: CompletedEvent) => void;
  failed: (event: FailedEvent) => void;
  retrying: (event: RetryingEvent) => void;
  timeout: (event: TimeoutEvent) => void;
  requeued: (event: RequeuedEvent) => void;
  dropped: (event: DroppedEvent) => void;
  stalled: (event: StalledEvent) => void;
  canceled: (event: CanceledEvent) => void;
  progress: (event: ProgressEvent) => void;
  /** Redis stopped answering; fires once per outage. Running jobs go on, their outcomes are held. */
  'broker:down': (event: BrokerDownEvent) => void;
  /** Redis answers again, after `downtimeMs`; held outcomes are written and fetching resumes. */
  'broker:up': (event: BrokerUpEvent) => void;
  /** Trouble of the supervisor itself that is not an outage; never about one job. */
  error: (error: Error) => void;
}
