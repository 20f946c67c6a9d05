/**
 * brokkr-only flow-control cases (no peer offers them the same way): throughput with priorities
 * and groups against plain FIFO, how closely a queue rate limit holds across three supervisors,
 * and how long a small group waits behind a big one (with the same jobs ungrouped for contrast).
 * Each case starts its own supervisors on fresh queues and flushes Redis afterwards.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { type BulkJob, type JobOptions, Queue, Supervisor } from '../../lib';
import { type OtherLoad, waitForQuiet } from './machine';
import { cell, fmt, markdownTable, median, type Sample } from './report';

export interface FlowPlan {
  runs: number;
  /** jobs per throughput run */
  jobs: number;
  levels: number[];
  /** jobs in the rate-limit case */
  rateJobs: number;
  /** jobs of the big group in the fairness case */
  bigJobs: number;
}

const noopHandler = join(__dirname, '..', 'handlers', `noop.${__filename.endsWith('.ts') ? 'ts' : 'js'}`);
const now = () => performance.timeOrigin + performance.now();
let counter = 0;
const freshQueue = (label: string) => `bench-flow-${label}-${Date.now().toString(36)}-${counter++}`;
const RATE = { max: 50, durationMs: 200 };
const SMALL_JOBS = 10;
const FAIRNESS_CAP_MS = 60_000;

function supervisor(url: string, queue: string, threads: number, concurrency: number, resultTtlMs: number): Supervisor {
  const s = new Supervisor({
    connection: url,
    queues: [queue],
    threads,
    concurrency,
    resultTtlMs,
    handlers: { noop: noopHandler, small: noopHandler },
    logger: { warn: () => undefined, error: (_fields, m: string) => process.stderr.write(`${m}\n`) },
  });
  s.on('failed', (e) => process.stderr.write(`brokkr job failed: ${e.error.message}\n`));
  return s;
}

async function enqueue(queue: Queue, count: number, opts: (i: number) => JobOptions | undefined, name = 'noop'): Promise<void> {
  for (let i = 0; i < count; i += 1000) {
    const chunk: BulkJob<null>[] = [];
    for (let k = i; k < Math.min(count, i + 1000); k++) {
      const o = opts(k);
      chunk.push(o ? { name, data: null, opts: o } : { name, data: null });
    }
    await queue.enqueueBulk(chunk);
  }
}

type Mode = 'FIFO' | 'priorities' | '100 groups';
const modeOpts: Record<Mode, (i: number) => JobOptions | undefined> = {
  FIFO: () => undefined,
  priorities: () => ({ priority: Math.floor(Math.random() * 10) }),
  '100 groups': (i) => ({ group: `g${i % 100}` }),
};

/** Jobs enqueued before the clock starts; the clock runs from "supervisor started" to the last completion. */
async function throughput(url: string, admin: Redis, mode: Mode, jobs: number, concurrency: number): Promise<number> {
  const name = freshQueue('tp');
  const queue = new Queue(name, { connection: url });
  await enqueue(queue, jobs, modeOpts[mode]);
  const s = supervisor(url, name, 2, concurrency, 0);
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  s.on('completed', () => {
    if (++done === jobs) finished();
  });
  await s.start();
  const t = now();
  await allDone;
  const elapsed = now() - t;
  await s.close();
  await queue.close();
  await admin.flushall();
  return jobs / (elapsed / 1000);
}

interface RateFigures {
  perWindow: number;
  maxFixed: number;
  maxSliding: number;
  rate: number;
}

/** Three supervisors (1 thread, C=8 each) under one queue rate limit; figures from the records' lease times (Redis clock). */
async function rateLimit(url: string, admin: Redis, jobs: number): Promise<RateFigures> {
  const name = freshQueue('rate');
  const queue = new Queue(name, { connection: url });
  await queue.setRateLimit(RATE);
  await enqueue(queue, jobs, () => undefined);
  const supervisors = [0, 1, 2].map(() => supervisor(url, name, 1, 8, 600_000));
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  for (const s of supervisors)
    s.on('completed', () => {
      if (++done === jobs) finished();
    });
  await Promise.all(supervisors.map((s) => s.start()));
  await allDone;
  await Promise.all(supervisors.map((s) => s.close()));
  const leases: number[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await queue.getJobs({ status: 'completed', limit: 1000, offset });
    for (const j of page) if (j.startedAt !== undefined) leases.push(j.startedAt);
    if (page.length < 1000) break;
  }
  await queue.close();
  await admin.flushall();
  if (leases.length !== jobs) throw new Error(`rate limit: ${leases.length} completed records with startedAt, expected ${jobs}`);
  leases.sort((a, b) => a - b);
  const first = leases[0]!;
  const last = leases[leases.length - 1]!;
  const windows = new Map<number, number>();
  for (const t of leases) {
    const w = Math.floor((t - first) / RATE.durationMs);
    windows.set(w, (windows.get(w) ?? 0) + 1);
  }
  const windowCount = Math.floor((last - first) / RATE.durationMs) + 1;
  let maxSliding = 0;
  for (let i = 0, j = 0; i < leases.length; i++) {
    while (j < leases.length && leases[j]! < leases[i]! + RATE.durationMs) j++;
    maxSliding = Math.max(maxSliding, j - i);
  }
  return {
    perWindow: jobs / windowCount,
    maxFixed: Math.max(...windows.values()),
    maxSliding,
    rate: jobs / (windowCount * (RATE.durationMs / 1000)),
  };
}

interface Fairness {
  /** ms from the small jobs' enqueue until the last of them completed; NaN if capped */
  waitMs: number;
  /** big jobs completed between the small jobs' enqueue and the last small completion (or the cap) */
  bigBefore: number;
  /** small jobs done when measuring stopped */
  smallDone: number;
}

/**
 * `big` jobs enqueued first, a supervisor (2 threads, C=8) started and past its first 200
 * completions, then 10 small jobs: grouped ('big' and 'small') or all ungrouped FIFO.
 */
async function fairness(url: string, admin: Redis, big: number, grouped: boolean): Promise<Fairness> {
  const name = freshQueue(grouped ? 'fair-g' : 'fair-fifo');
  const queue = new Queue(name, { connection: url });
  await enqueue(queue, big, () => (grouped ? { group: 'big' } : undefined));
  const s = supervisor(url, name, 2, 8, 0);
  let bigDone = 0;
  let bigAtSmall = -1;
  let smallDone = 0;
  let warmed!: () => void;
  const warm = new Promise<void>((resolve) => (warmed = resolve));
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  s.on('completed', (e) => {
    if (e.job.name === 'small') {
      if (++smallDone === SMALL_JOBS) finished();
    } else if (++bigDone === 200) warmed();
  });
  await s.start();
  await warm;
  const t = now();
  bigAtSmall = bigDone;
  await enqueue(queue, SMALL_JOBS, () => (grouped ? { group: 'small' } : undefined), 'small');
  let timer: NodeJS.Timeout | undefined;
  const capped = await Promise.race([
    allDone.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), FAIRNESS_CAP_MS))),
  ]);
  clearTimeout(timer);
  const waitMs = capped ? NaN : now() - t;
  const bigBefore = bigDone - bigAtSmall;
  await s.close();
  await queue.close();
  await admin.flushall();
  return { waitMs, bigBefore, smallDone };
}

/** Runs every flow case `plan.runs` times; returns the markdown table (and its note). */
export async function flowCases(url: string, admin: Redis, plan: FlowPlan, load: OtherLoad, log: (line: string) => void): Promise<string> {
  const results = new Map<string, Sample>();
  let disturbed = false;
  const record = (kase: string, value: number) => {
    const sample = results.get(kase) ?? { values: [], disturbed: 0 };
    sample.values.push(value);
    if (disturbed) sample.disturbed++;
    results.set(kase, sample);
  };
  const settle = async () => {
    await waitForQuiet(load);
  };
  const mark = () => {
    disturbed = load.share() > 0.1;
    return disturbed ? ' (disturbed)' : '';
  };
  const modes: Mode[] = ['FIFO', 'priorities', '100 groups'];
  const tp = (c: number, m: Mode) => `flow: no-op jobs/s C=${c} ${m}`;
  for (const c of plan.levels) {
    for (let run = 0; run < plan.runs; run++) {
      for (const mode of run % 2 === 0 ? modes : [...modes].reverse()) {
        await settle();
        const v = await throughput(url, admin, mode, plan.jobs, c);
        const d = mark();
        record(tp(c, mode), v);
        log(`  flow throughput C=${c} ${mode} run ${run + 1}: ${fmt(v)} jobs/s${d}`);
      }
    }
  }
  const rateLabel = `${RATE.max} per ${RATE.durationMs} ms, 3 supervisors × C=8, ${fmt(plan.rateJobs)} jobs`;
  for (let run = 0; run < plan.runs; run++) {
    await settle();
    const r = await rateLimit(url, admin, plan.rateJobs);
    const d = mark();
    record(`flow: rate limit ${rateLabel}: jobs per fixed ${RATE.durationMs} ms window, average`, r.perWindow);
    record(`flow: rate limit ${rateLabel}: most jobs in one fixed window (limit ${RATE.max})`, r.maxFixed);
    record(`flow: rate limit ${rateLabel}: most jobs in any sliding ${RATE.durationMs} ms (limit ${RATE.max})`, r.maxSliding);
    record(`flow: rate limit ${rateLabel}: achieved jobs/s (limit ${fmt((RATE.max * 1000) / RATE.durationMs)})`, r.rate);
    log(
      `  flow rate limit run ${run + 1}: ${fmt(r.perWindow, 1)} per window, max fixed ${r.maxFixed}, max sliding ${r.maxSliding}, ${fmt(r.rate, 1)} jobs/s${d}`,
    );
  }
  const capNote: string[] = [];
  for (let run = 0; run < plan.runs; run++) {
    for (const grouped of run % 2 === 0 ? [true, false] : [false, true]) {
      await settle();
      const f = await fairness(url, admin, plan.bigJobs, grouped);
      const d = mark();
      const what = grouped ? `group 'small' behind group 'big'` : 'ungrouped, behind the same jobs ungrouped';
      const label = `flow: ${SMALL_JOBS} small jobs after ${fmt(plan.bigJobs)} big, C=8, ${what}`;
      if (Number.isNaN(f.waitMs))
        capNote.push(`${what}: run ${run + 1} stopped at ${FAIRNESS_CAP_MS / 1000} s with ${f.smallDone}/${SMALL_JOBS} small jobs done`);
      else record(`${label}: ms until all done`, f.waitMs);
      record(`${label}: big jobs completed meanwhile`, f.bigBefore);
      log(
        `  flow fairness ${grouped ? 'grouped' : 'ungrouped'} run ${run + 1}: ${Number.isNaN(f.waitMs) ? `> ${FAIRNESS_CAP_MS / 1000} s` : `${fmt(f.waitMs)} ms`}, ${fmt(f.bigBefore)} big jobs meanwhile${d}`,
      );
    }
  }

  const rows: string[][] = [];
  for (const c of plan.levels) {
    const fifo = median(results.get(tp(c, 'FIFO'))?.values ?? []);
    rows.push([
      `flow: no-op jobs/s C=${c} (${fmt(plan.jobs)} jobs)`,
      ...modes.map((m) => cell(results.get(tp(c, m)))),
      ...modes.slice(1).map((m) => fmt(median(results.get(tp(c, m))?.values ?? []) / fifo, 2)),
    ]);
  }
  const header = ['case', ...modes, 'priorities / FIFO', '100 groups / FIFO'];
  const throughputTable = markdownTable(header, rows);
  const other = [...results].filter(([k]) => !k.startsWith('flow: no-op'));
  const otherTable = markdownTable(
    ['case', 'brokkr'],
    other.map(([k, s]) => [k, cell(s, /average|jobs\/s/.test(k) ? 1 : 0)]),
  );
  const note = [
    `Median of ${plan.runs} run(s) (min-max in brackets); * marks a run during which other processes used over 10% of the machine.`,
    'Throughput: jobs enqueued before the clock starts, one supervisor (2 threads, resultTtlMs 0); priorities are random 0-9 per job, groups g0..g99 round robin.',
    `Rate limit: windows by each record's lease time (Redis clock) from the first lease; achieved rate = jobs / (fixed windows spanned × ${RATE.durationMs} ms).`,
    `Fairness: the small jobs are enqueued once the supervisor has completed 200 big jobs; "meanwhile" counts big jobs completed from that enqueue to the last small completion (or to the ${FAIRNESS_CAP_MS / 1000} s cap).`,
    ...capNote.map((n) => `Capped: ${n}.`),
  ].join('\n');
  return `${throughputTable}\n\n${otherTable}\n\n${note}`;
}
