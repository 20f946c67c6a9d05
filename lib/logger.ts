/** Starts every line brokkr logs. */
export const LOG_PREFIX = '[brokkr]';

/** The smallest logger brokkr needs; `console` fits, and so do pino and winston instances. */
export interface Logger {
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}
