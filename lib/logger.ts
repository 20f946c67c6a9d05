/** Starts every line the default logger writes. */
export const LOG_PREFIX = '[brokkr]';

/** What a log line is about, as fields a structured logger can index (pino: the merging object). */
export interface LogFields {
  /** what happened, machine-readable (e.g. `job:dropped`, `supervisor:started`) */
  event: string;
  jobId?: string;
  queue?: string;
  [field: string]: unknown;
}

/**
 * The logger brokkr writes to: pino-shaped, `(fields, message)`, so pino and pino-compatible
 * loggers fit as they are. `info` and `debug` are used when present; `debug` lines (one per job
 * event) only when `isLevelEnabled('debug')` says so.
 */
export interface Logger {
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  info?(fields: LogFields, message: string): void;
  debug?(fields: LogFields, message: string): void;
  isLevelEnabled?(level: string): boolean;
}

/** The default: warnings and errors as one prose line on stderr, the fields after it. */
export const consoleLogger: Logger = {
  warn: (fields, message) => console.warn(proseLine(fields, message)),
  error: (fields, message) => console.error(proseLine(fields, message)),
};

export function proseLine(fields: LogFields, message: string): string {
  const { event: _event, ...rest } = fields;
  const extra = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${LOG_PREFIX} ${message}${extra ? ` (${extra})` : ''}`;
}

/** Writes to a user's logger, which must never break the caller. */
export function logSafely(logger: Logger, level: 'warn' | 'error' | 'info' | 'debug', fields: LogFields, message: string): void {
  try {
    logger[level]?.(fields, message);
  } catch {
    // a logger that throws is ignored
  }
}
