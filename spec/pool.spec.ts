import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobPool, type PoolJob, type PoolOutcome } from '../lib/pool/pool';
import { fixture, waitFor } from './support/helpers';

/**
 * The thread pool alone, no broker: jobs arrive in waves so threads run dry, ask, and take
 * unstarted jobs from each other; every job must run exactly once and be reported exactly once.
 */
describe('the thread pool', () => {
  it('runs every job exactly once while threads take queued jobs from each other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brokkr-pool-'));
    const total = 1_600;
    let made = 0;
    const ready: PoolJob[] = [];
    const settled = new Map<string, PoolOutcome[]>();
    const pool: JobPool<PoolJob> = new JobPool<PoolJob>(
      {
        threads: 2,
        concurrency: 2,
        handlers: { record: pathToFileURL(fixture('record')).href },
        timeoutGraceMs: 1_000,
        maxResultBytes: 1 << 20,
        recycleAfterJobs: 0,
        threadIdleMs: 60_000,
      },
      {
        waiting: () => ready.length,
        take: (max) => ready.splice(0, max),
        giveBack: (jobs) => {
          ready.unshift(...jobs);
          pool.offer();
        },
        queueAhead: () => true,
        dispatched: () => undefined,
        settled: (job, outcome) => settled.set(job.id, [...(settled.get(job.id) ?? []), outcome]),
        noted: () => undefined,
        error: (err) => {
          throw err;
        },
      },
    );
    try {
      await pool.start();
      // waves of 32: the first job of each wave sleeps, so one thread's queue stalls behind it while
      // the other runs dry, asks, and takes the stalled queue's jobs; the next wave comes meanwhile
      while (made < total) {
        for (let i = 0; i < 32 && made < total; i++, made++) {
          ready.push({
            id: `j${made}`,
            queue: 'q',
            name: 'record',
            data: JSON.stringify({ dir, ms: i === 0 ? 40 : 0 }),
            attempt: 1,
            timeoutMs: 60_000,
          });
        }
        pool.offer();
        await new Promise((r) => setTimeout(r, 15));
      }
      await waitFor(() => settled.size === total, 30_000, 'every job settled');
      const executions = new Map<string, number>();
      for (const file of readdirSync(dir)) {
        for (const id of readFileSync(join(dir, file), 'utf8').split('\n')) if (id) executions.set(id, (executions.get(id) ?? 0) + 1);
      }
      const wrong = [...settled].filter(
        ([id, outcomes]) => outcomes.length !== 1 || outcomes[0]!.kind !== 'completed' || executions.get(id) !== 1,
      );
      expect(wrong.map(([id, outcomes]) => ({ id, outcomes: outcomes.map((o) => o.kind), runs: executions.get(id) ?? 0 }))).toEqual([]);
      expect(executions.size).toBe(total);
      expect(readdirSync(dir).length).toBeGreaterThan(1); // more than one thread took part
    } finally {
      await pool.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
