export { Queue, type BulkJob, type WaitOptions } from './queue';
export { Supervisor } from './supervisor/supervisor';
export type { JobContext, Handler } from './pool/thread';
export type { ConnectionOptions, HandlerModule, Handlers, QueueOptions, SupervisorOptions } from './config';
export { supervisorOptionsFromEnv } from './env';
export type { JobInfo, JobOptions, JobRef, JobStatus } from './job';
export type { Logger } from './logger';
export type {
  ActiveEvent,
  CompletedEvent,
  DroppedEvent,
  FailedEvent,
  JobEventInfo,
  RequeuedEvent,
  RequeueReason,
  SupervisorEvents,
  TimeoutEvent,
} from './events';
export {
  BrokerUnavailableError,
  BrokkrError,
  ClosedError,
  CorruptJobError,
  ErrorCodes,
  HandlerLoadError,
  JobFailedError,
  JobNotFoundError,
  JobTimeoutError,
  UnknownHandlerError,
  ValidationError,
  WaitTimeoutError,
  type ErrorCode,
  type SerializedError,
} from './errors';
