import { InvalidArgumentError } from 'commander';
import { parseDuration } from './durations';

/**
 * Parsers for commander option values. They throw commander's InvalidArgumentError, so a bad value
 * is reported like any other usage error: one line naming the option, exit code 2.
 */
export function integerArgument(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`it must be a whole number ${range}.`);
    }
    return n;
  };
}

export function durationArgument(value: string): number {
  try {
    return parseDuration(value, 'it');
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
}

/** For options given more than once (`--queue a --queue b`): the values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
