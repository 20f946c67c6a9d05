import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../../lib';

/** The chaos run's job: notes each execution outside Redis (one file per process), then works a little. */
export default async function record(data: { dir: string; ms: number }, ctx: JobContext) {
  appendFileSync(join(data.dir, `exec-${process.pid}.log`), `${ctx.id}\n`);
  await new Promise((resolve) => setTimeout(resolve, data.ms));
  return ctx.attempt;
}
