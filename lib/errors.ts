/**
 * Every error brokkr raises is a BrokkrError with a stable `code`, so callers can branch on
 * `err.code` even where `instanceof` fails (errors made in another thread or Jest sandbox).
 */
export const ErrorCodes = {
  VALIDATION: 'BRK_VALIDATION',
  JOB_FAILED: 'BRK_JOB_FAILED',
  JOB_TIMEOUT: 'BRK_JOB_TIMEOUT',
  UNKNOWN_HANDLER: 'BRK_UNKNOWN_HANDLER',
  HANDLER_LOAD: 'BRK_HANDLER_LOAD',
  NON_ERROR_THROWN: 'BRK_NON_ERROR_THROWN',
  RESULT_NOT_STORABLE: 'BRK_RESULT_NOT_STORABLE',
  CORRUPT_JOB: 'BRK_CORRUPT_JOB',
  THREAD_CRASHED: 'BRK_THREAD_CRASHED',
  JOB_STALLED: 'BRK_JOB_STALLED',
  WAIT_TIMEOUT: 'BRK_WAIT_TIMEOUT',
  JOB_NOT_FOUND: 'BRK_JOB_NOT_FOUND',
  BROKER_UNAVAILABLE: 'BRK_BROKER_UNAVAILABLE',
  BROKER: 'BRK_BROKER',
  REPLICATION: 'BRK_REPLICATION',
  PERMISSION: 'BRK_PERMISSION',
  CLOSED: 'BRK_CLOSED',
  UNRECOVERABLE: 'BRK_UNRECOVERABLE',
  JOB_STATE: 'BRK_JOB_STATE',
  RATE_LIMITED: 'BRK_RATE_LIMITED',
  JOB_CANCELED: 'BRK_JOB_CANCELED',
  DEPENDENCY_FAILED: 'BRK_DEPENDENCY_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class BrokkrError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input: an option, a job name, a payload. The message names the field. */
export class ValidationError extends BrokkrError {
  constructor(message: string) {
    super(ErrorCodes.VALIDATION, message);
  }
}

/** The job ended failed; `cause` is the stored error (a JobTimeoutError included). */
export class JobFailedError extends BrokkrError {
  readonly jobId: string;
  constructor(jobId: string, cause: SerializedError) {
    super(ErrorCodes.JOB_FAILED, `job ${jobId} failed: ${cause.name}: ${cause.message}`, {
      cause: deserializeError(cause),
    });
    this.jobId = jobId;
  }
}

export class JobTimeoutError extends BrokkrError {
  constructor(timeoutMs: number) {
    super(ErrorCodes.JOB_TIMEOUT, `job exceeded its timeout of ${timeoutMs} ms`);
  }
}

/**
 * Thrown by a handler: the job fails at once, whatever `attempts` allows. Recognised by its code
 * (BRK_UNRECOVERABLE), so an error of another class that carries this code counts too.
 */
export class UnrecoverableError extends BrokkrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.UNRECOVERABLE, message, options);
  }
}

/**
 * Thrown by ctx.rateLimit(ms) to end the handler: the job goes back to queued without an attempt
 * charged, and the whole queue takes no job for `ms`. A handler that catches it is still put back.
 */
export class RateLimitError extends BrokkrError {
  readonly holdMs: number;
  constructor(holdMs: number) {
    super(ErrorCodes.RATE_LIMITED, `rate limited: the queue holds off for ${holdMs} ms and this job goes back to queued`);
    this.holdMs = holdMs;
  }
}

/**
 * The job was canceled (queue.cancel): the error a canceled job's record keeps, the reason a
 * running handler's ctx.signal is aborted with, and what waitForResult rejects with.
 */
export class JobCanceledError extends BrokkrError {
  readonly reason: string;
  constructor(reason: string) {
    super(ErrorCodes.JOB_CANCELED, `job canceled${reason ? `: ${reason}` : ''}`);
    this.reason = reason;
  }
}

/** The job exists but its status does not allow what was asked (retrying a job that did not fail, removing an active one). */
export class JobStateError extends BrokkrError {
  readonly jobId: string;
  readonly status: string;
  constructor(jobId: string, status: string, message: string) {
    super(ErrorCodes.JOB_STATE, message);
    this.jobId = jobId;
    this.status = status;
  }
}

export class UnknownHandlerError extends BrokkrError {
  constructor(name: string) {
    super(ErrorCodes.UNKNOWN_HANDLER, `no handler is registered for job name "${name}"`);
  }
}

/** A handler module that cannot be imported, or has no function to run. */
export class HandlerLoadError extends BrokkrError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.HANDLER_LOAD, message, { cause });
  }
}

/** The stored job record cannot be read (deleted fields, JSON that does not parse). */
export class CorruptJobError extends BrokkrError {
  constructor(message: string) {
    super(ErrorCodes.CORRUPT_JOB, message);
  }
}

export class WaitTimeoutError extends BrokkrError {
  constructor(jobId: string, timeoutMs: number) {
    super(ErrorCodes.WAIT_TIMEOUT, `no outcome for job ${jobId} within ${timeoutMs} ms`);
  }
}

export class JobNotFoundError extends BrokkrError {
  constructor(jobId: string, why = 'it does not exist or its record has expired') {
    super(ErrorCodes.JOB_NOT_FOUND, `job ${jobId} cannot be found: ${why}`);
  }
}

export class BrokerUnavailableError extends BrokkrError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.BROKER_UNAVAILABLE, message, { cause });
  }
}

/** The broker answered with an error brokkr did not expect (a damaged key, a script error); not retried. */
export class BrokerError extends BrokkrError {
  constructor(message: string, cause?: unknown, code: ErrorCode = ErrorCodes.BROKER) {
    super(code, message, { cause });
  }
}

/**
 * The Redis ACL user may not run a command brokkr sends (or may not touch a key it names):
 * `command` is the refused command when Redis says which, found through the script's line for
 * a command a Lua script called. Not retried by the call that met it; a supervisor keeps trying
 * its fetch loop with backoff, so granting the rules (see aclRules) lets it carry on.
 */
export class PermissionError extends BrokerError {
  readonly command: string | null;
  constructor(message: string, command: string | null, cause?: unknown) {
    super(message, cause, ErrorCodes.PERMISSION);
    this.command = command;
  }
}

/**
 * The jobs are written on the Redis master, but fewer replicas than `waitForReplicas` confirmed
 * them within `replicaWaitMs`: a failover now could lose them. `jobs` names them, so a caller can
 * check on them (getJob) or enqueue them again.
 */
export class ReplicationError extends BrokkrError {
  readonly jobs: { id: string; queue: string; name: string }[];
  constructor(message: string, jobs: { id: string; queue: string; name: string }[]) {
    super(ErrorCodes.REPLICATION, message);
    this.jobs = jobs;
  }
}

export class ClosedError extends BrokkrError {
  constructor(what: string) {
    super(ErrorCodes.CLOSED, `${what} is closed`);
  }
}

/** How an error crosses a thread boundary and is stored on a job: structured clone drops classes. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** a JobCanceledError's reason */
  reason?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error || isErrorLike(err)) {
    const e = err as Error & { code?: unknown };
    const out: SerializedError = { name: String(e.name || 'Error'), message: String(e.message ?? '') };
    if (typeof e.stack === 'string') out.stack = e.stack;
    if (typeof e.code === 'string' || typeof e.code === 'number') out.code = String(e.code);
    return out;
  }
  return {
    name: 'NonErrorThrown',
    message: `handler threw a non-Error value: ${describeValue(err)}`,
    code: ErrorCodes.NON_ERROR_THROWN,
  };
}

/** Rebuilds a plain Error with the stored name, message, code and stack. */
export function deserializeError(s: SerializedError): Error {
  const err = new Error(s.message) as Error & { code?: string };
  err.name = s.name;
  if (s.code !== undefined) err.code = s.code;
  err.stack = s.stack ?? `${s.name}: ${s.message}`;
  return err;
}

function isErrorLike(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { message?: unknown }).message === 'string' &&
    typeof (v as { name?: unknown }).name === 'string'
  );
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined || v === null || typeof v !== 'object') return String(v);
  try {
    return JSON.stringify(v) ?? Object.prototype.toString.call(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
