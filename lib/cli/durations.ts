import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads `500ms`, `10s`, `1.5m`, `1h`, `2d`, or a bare number of milliseconds, into milliseconds.
 * One number and one unit only: `1h30m` is refused rather than half understood.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `${what} must be a number of milliseconds or a number with a unit (500ms, 10s, 2m, 1h, 1d), got ${JSON.stringify(text)}`,
    );
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${what} is too long, got ${JSON.stringify(text)}`);
  return ms;
}

/** An interval in the largest unit that divides it exactly (`1m`, `90s`, `1500ms`): what parseDuration reads back. */
export function formatInterval(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
