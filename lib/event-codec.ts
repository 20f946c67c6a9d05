import type {
  ActiveEvent,
  AddedEvent,
  CanceledEvent,
  DelayedEvent,
  RemovedEvent,
  CompletedEvent,
  ProgressEvent,
  FailedEvent,
  QueueFlowEvent,
  RequeuedEvent,
  RetryingEvent,
  StalledEvent,
} from './events';
import { STREAM_EVENTS, type StreamEventName } from './states';

/**
 * How a job event is stored in its queue's stream: three fields, `type` (the event name), `job`
 * (the job id, so a reader can skip entries without parsing them; '' for a queue's own events such
 * as paused) and `data`, the JSON of the very payload the supervisor's local event carries. The Lua scripts write `data` in this shape
 * (lua/includes/events.lua); readers decode it here. Numbers stay numbers.
 */
export interface StreamEventMap {
  added: AddedEvent;
  delayed: DelayedEvent;
  active: ActiveEvent;
  completed: CompletedEvent;
  failed: FailedEvent;
  retrying: RetryingEvent;
  requeued: RequeuedEvent;
  stalled: StalledEvent;
  canceled: CanceledEvent;
  progress: ProgressEvent;
  paused: QueueFlowEvent;
  resumed: QueueFlowEvent;
  removed: RemovedEvent;
}

export type StreamEvent = { [K in StreamEventName]: { type: K; jobId: string; payload: StreamEventMap[K] } }[StreamEventName];

export function encodeStreamEvent<K extends StreamEventName>(type: K, payload: StreamEventMap[K]): Record<'type' | 'job' | 'data', string> {
  return { type, job: 'job' in payload ? payload.job.id : '', data: JSON.stringify(payload) };
}

/** Null for an entry that is not a job event of a known kind (a newer writer's, say): readers skip it. */
export function decodeStreamEvent(fields: Record<string, string>): StreamEvent | null {
  const { type, job, data } = fields;
  if (!type || job === undefined || data === undefined || !(STREAM_EVENTS as readonly string[]).includes(type)) return null;
  try {
    return { type, jobId: job, payload: JSON.parse(data) } as StreamEvent;
  } catch {
    return null;
  }
}
