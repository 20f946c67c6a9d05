// BullMQ's sandboxed processor (run in its worker threads) for the benchmark's jobs.
export default async function processor(job: { data: { kind?: string; at?: number } }): Promise<number | null> {
  const startedAt = performance.timeOrigin + performance.now();
  if (job.data.kind === 'cpu') {
    const until = performance.now() + 2;
    while (performance.now() < until) {
      // busy
    }
  }
  return job.data.kind === 'stamp' ? startedAt - (job.data.at ?? 0) : null;
}
