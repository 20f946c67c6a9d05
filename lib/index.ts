export type { Handler, JobContext } from './pool/runner';
export { Queue, type BulkJob, type WaitOptions } from './queue';
export { Supervisor } from './supervisor/supervisor';
export { QueueEvents, type GapEvent, type QueueEventsListeners, type QueueEventsOptions } from './queue-events';
export type { StreamEventMap } from './event-codec';
export type { ConnectionOptions, HandlerModule, Handlers, QueueOptions, SupervisorOptions } from './config';
export { supervisorOptionsFromEnv } from './env';
export type { AttemptError, JobCounts, JobInfo, JobOptions, JobRef, JobStatus } from './job';
export type { Backoff, BackoffStrategy } from './backoff';
export type { ScheduleInfo, ScheduleSpec, StoredSpec } from './schedule';
export type { Logger } from './logger';
export type { MinuteMetrics, Percentiles, QueueMetrics } from './metrics';
export type { WorkerInfo } from './workers';
export type { GroupLimits, RateLimit } from './flow';
export type { Dedupe, DedupeMode } from './dedupe';
export type { DependencyOutcome, DependencyPolicy, DependencyRef } from './dependencies';
export type {
  ActiveEvent,
  AddedEvent,
  DelayedEvent,
  QueueFlowEvent,
  RemovedEvent,
  CanceledEvent,
  ProgressEvent,
  BrokerDownEvent,
  BrokerUpEvent,
  CompletedEvent,
  DroppedEvent,
  FailedEvent,
  JobEventInfo,
  RequeuedEvent,
  RequeueReason,
  RetryingEvent,
  StalledEvent,
  SupervisorEvents,
  TimeoutEvent,
} from './events';
export {
  BrokerError,
  BrokerUnavailableError,
  BrokkrError,
  ClosedError,
  CorruptJobError,
  type ErrorCode,
  ErrorCodes,
  HandlerLoadError,
  JobFailedError,
  JobNotFoundError,
  JobStateError,
  JobCanceledError,
  JobTimeoutError,
  PermissionError,
  ReplicationError,
  type SerializedError,
  UnknownHandlerError,
  UnrecoverableError,
  ValidationError,
  WaitTimeoutError,
} from './errors';
export { aclRules, type AclRole } from './acl';
export { createDashboard, type DashboardHandler, type DashboardOptions } from './dashboard/index';
