/** Times for people, as the CLI and the dashboard print them. */

/** A span for people: `850ms`, `12s`, `4m 05s`, `3h 20m`, `2d 04h`; two units at most. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(abs)}ms`;
  const seconds = Math.floor(abs / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

/** How far an instant is from now: `12s ago`, `in 4m 05s`. */
export function formatRelative(at: number, now = Date.now()): string {
  return at <= now ? `${formatDuration(now - at)} ago` : `in ${formatDuration(at - now)}`;
}
