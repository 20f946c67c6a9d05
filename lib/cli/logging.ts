import pino, { type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { UsageError } from './errors';

export type CliLogger = PinoLogger;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `--log-level` wins over LOG_LEVEL, which wins over `info`. */
export function resolveLogLevel(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const level = (flag ?? (env.LOG_LEVEL || 'info')).toLowerCase();
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`the log level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(flag ?? env.LOG_LEVEL)}`);
  }
  return level;
}

/**
 * Logs go to stderr, so stdout carries only a command's output. On a terminal they are pretty
 * (pino-pretty as a plain stream in this thread: a transport would start a worker thread for a
 * few lines); anywhere else one JSON object per line, for a log collector. Both write
 * synchronously, so the last line before process.exit() is never lost.
 */
export function createLogger(level: string, stream: NodeJS.WriteStream & { fd: number } = process.stderr): CliLogger {
  const options = { level, base: { pid: process.pid } };
  if (stream.isTTY) {
    return pino(
      options,
      pretty({ destination: stream.fd, sync: true, colorize: !process.env.NO_COLOR, ignore: 'hostname', singleLine: true }),
    );
  }
  return pino(options, pino.destination({ dest: stream.fd, sync: true }));
}
