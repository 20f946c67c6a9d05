import { BrokkrError, ErrorCodes } from '../errors';
import { redact } from '../redact';

/** A runtime failure: Redis unreachable, a job that is not there, a job in the wrong status. */
export const EXIT_FAILURE = 1;
/** Bad input: an unknown option or status, JSON that does not parse, a bad duration. */
export const EXIT_USAGE = 2;

/** Bad input on the command line or on stdin: reported in one line, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Something a command could not do, described for the person at the terminal: one line, exit code 1. */
export class CommandFailedError extends Error {
  readonly exitCode = EXIT_FAILURE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandFailedError';
  }
}

/**
 * What the CLI prints for an error and the exit code it ends with. Library ValidationErrors come
 * from what the user typed (a queue name with braces, data over the payload limit), so they are
 * usage errors too. Only the message is printed: a stack trace tells a user nothing they can act on.
 */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  const message = err instanceof Error ? err.message : String(err);
  return { line: `brokkr: ${redact(oneLine(message))}`, exitCode: isBadInput(err) ? EXIT_USAGE : EXIT_FAILURE };
}

export function isBadInput(err: unknown): boolean {
  return err instanceof UsageError || (err instanceof BrokkrError && err.code === ErrorCodes.VALIDATION);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
