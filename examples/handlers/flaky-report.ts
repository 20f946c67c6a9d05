import type { JobContext } from '../../lib';

/** Fails the way real handlers do, with an upstream that recovers: it throws on its first two tries. */
export default async function flakyReport(data: { month: string }, ctx: JobContext) {
  if (ctx.attempt < 3) throw new Error(`report for ${data.month} failed: upstream returned 502 (try ${ctx.attempt})`);
  return { month: data.month, rows: 1_204, tries: ctx.attempt };
}
