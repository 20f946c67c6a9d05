import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../scripts/ephemeral-redis';
import { ErrorCodes, type JobRef } from '../lib';
import { probe, resolveTarget } from '../lib/cli/connection';
import { connection, fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

/**
 * The brokkr CLI, each command run as a child process from source (`node --import tsx
 * lib/cli/main.ts`) against the suite's Redis (or cluster), checking what it prints and its exit
 * code. Setup and checks that are not the point of a test go through the library directly. Each
 * run costs most of a second of CPU (Node, tsx, the library), so tests that only wait on their
 * own children run concurrently; those that measure time or signal a long-lived child do not.
 */

const ROOT = join(__dirname, '..');
const MAIN = join(ROOT, 'lib', 'cli', 'main.ts');
const h = new Harness();
afterAll(() => h.closeAll());

/** How to point the CLI at the suite's broker: a URL, or a cluster's first node with --cluster. */
function targetArgs(): string[] {
  const c = connection();
  if (typeof c === 'string') return ['--redis', c];
  const seed = (c as { cluster: { host: string; port: number }[] }).cluster[0]!;
  return ['--redis', `redis://${seed.host}:${seed.port}`, '--cluster'];
}

/** The environment of a child: none of the variables the CLI reads, unless a test sets them. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const name of ['REDIS_URL', 'BROKKR_PREFIX', 'BROKKR_QUEUES', 'LOG_LEVEL']) if (!(name in extra)) delete env[name];
  return env;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one command to its end. Without `stdin`, stdin is /dev/null (not a terminal: enqueue would read it). */
function brokkr(args: string[], options: { stdin?: string; target?: string[] } = {}): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...(options.target ?? targetArgs()), ...args], {
    cwd: ROOT,
    env: childEnv(),
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Runs a command with --json, expects success, and parses the one document it prints. */
/** A CLI command that runs until signalled: its output so far, and its exit code once it ends. */
function startCli(args: string[]): { child: ChildProcess; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...targetArgs(), ...args], {
    cwd: ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, exited };
}

async function brokkrJson<T>(args: string[], options: { stdin?: string } = {}): Promise<T> {
  const run = await brokkr([...args, '--json'], options);
  if (run.code !== 0) throw new Error(`brokkr ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** One line on stderr in the CLI's own form, no stack trace. */
function expectOneErrorLine(run: Run, pattern: RegExp): void {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^brokkr: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stdout).toBe('');
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

interface JobJson {
  id: string;
  name: string;
  status: string;
  data: unknown;
  result?: unknown;
  attempts: number;
  opts: Record<string, unknown>;
  progress?: unknown;
  logs: string[];
}

describe('enqueue, jobs and job', () => {
  it.concurrent('enqueues one job with options and shows it in the listing and in full', async () => {
    const name = uniqueQueue('cli-enq');
    const ref = await brokkrJson<{ id: string; queue: string; name: string }>([
      'enqueue',
      name,
      'sum',
      '{"a":2,"b":3}',
      '--attempts',
      '3',
      '--priority',
      '5',
    ]);
    expect(ref).toMatchObject({ queue: name, name: 'sum', deduplicated: false });
    const plain = await brokkr(['enqueue', name, 'later', '[1,2]', '--delay', '1h']);
    expect(plain.code).toBe(0);
    const delayedId = plain.stdout.trim(); // without --json: the id alone, for $(brokkr enqueue ...)

    const [listed, table, job, delayed] = await Promise.all([
      brokkrJson<JobJson[]>(['jobs', name, '--status', 'queued']),
      brokkr(['jobs', name, '--status', 'queued']),
      brokkrJson<JobJson>(['job', name, ref.id]),
      brokkrJson<JobJson>(['job', name, delayedId]),
    ]);
    expect(listed.map((j) => j.id)).toEqual([ref.id]);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+STATUS\s+ATTEMPT\s+ENQUEUED\s+FINISHED\s+ERROR$/);
    expect(row).toMatch(new RegExp(`^${ref.id}\\s+sum\\s+queued\\s+0/3\\s+\\d+(ms|s) ago$`));
    expect(job).toMatchObject({ id: ref.id, status: 'queued', data: { a: 2, b: 3 }, attempts: 0, logs: [] });
    expect(job.opts).toMatchObject({ attempts: 3, priority: 5 });
    expect(delayed).toMatchObject({ name: 'later', status: 'delayed', data: [1, 2] });
  });

  it.concurrent('job shows dependencies, and a job that is not there is a one-line error with exit code 1', async () => {
    const q = h.queue(uniqueQueue('cli-job'));
    const [first, second] = await q.enqueueBulk([
      { name: 'sum', data: { a: 1, b: 1 }, opts: { jobId: 'first' } },
      { name: 'sum', data: { a: 2, b: 2 }, opts: { dependsOn: ['first'], onDependencyFailure: 'cancel' } },
    ]);
    const [shown, json, missing] = await Promise.all([
      brokkr(['job', q.name, second!.id]),
      brokkrJson<JobJson>(['job', q.name, second!.id]),
      brokkr(['job', q.name, 'no-such-id']),
    ]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status\s+deferred$/m);
    expect(shown.stdout).toMatch(new RegExp(`^depends on\\s+${first!.id} \\(if one fails: cancel\\)$`, 'm'));
    expect(json.opts).toMatchObject({ dependsOn: [{ queue: q.name, id: 'first' }], onDependencyFailure: 'cancel' });
    expect(missing.code).toBe(1);
    expectOneErrorLine(missing, /job no-such-id cannot be found/);
  });

  it.concurrent('enqueues JSON lines from stdin in batches, and a bad line enqueues nothing', async () => {
    const q = h.queue(uniqueQueue('cli-bulk'));
    const lines = Array.from({ length: 2_500 }, (_, i) => (i % 2 === 0 ? JSON.stringify({ a: i, b: 1 }) : String(i)));
    const good = await brokkrJson<{ enqueued: number }>(['enqueue', q.name, 'sum'], { stdin: `${lines.join('\n')}\n\n` });
    expect(good).toEqual({ queue: q.name, name: 'sum', enqueued: 2_500 });
    expect((await q.getCounts()).queued).toBe(2_500);
    const [first] = await q.getJobs({ status: 'queued', limit: 1 });
    expect(first).toMatchObject({ name: 'sum', data: { a: 0, b: 1 } });

    const other = h.queue(uniqueQueue('cli-bulk-bad'));
    const bad = await brokkr(['enqueue', other.name, 'sum'], { stdin: '{"a":1}\n{"a":\n3\n' });
    expect(bad.code).toBe(2);
    expectOneErrorLine(bad, /stdin line 2 is not valid JSON/);
    const empty = await brokkr(['enqueue', other.name, 'sum'], { stdin: '' });
    expect(empty.code).toBe(2);
    expectOneErrorLine(empty, /stdin held no jobs/);
    expect((await other.getCounts()).queued).toBe(0);
  });
});

describe('worker', () => {
  it('runs a module of named-export handlers, serves /metrics, exits 0 on SIGTERM; retry by id and --all-failed', async () => {
    const q = h.queue(uniqueQueue('cli-worker'));
    const metricsPort = await freePort();
    const worker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'worker',
        ...targetArgs(),
        '--handlers',
        'spec/fixtures/cli-handlers.ts', // relative: resolved against the working directory
        '--queue',
        q.name,
        '--threads',
        '1',
        '--metrics-port',
        String(metricsPort),
      ],
      { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const logs: { msg: string; [field: string]: unknown }[] = [];
    let partial = '';
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) logs.push(JSON.parse(line)); // off a terminal: one JSON object per line
    });
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    let failing: JobRef[] = [];
    try {
      await waitFor(() => logs.some((l) => l.msg.startsWith('worker started')), 20_000, 'the worker to start');
      expect(logs.find((l) => l.msg.startsWith('worker started'))).toMatchObject({ queues: [q.name], threads: 1, concurrency: 1 });

      const sum = await brokkrJson<{ id: string }>(['enqueue', q.name, 'sum', '{"a":2,"b":3}']);
      failing = await q.enqueueBulk([
        { name: 'explode', data: { message: 'first' } },
        { name: 'explode', data: { message: 'second' } },
      ]);
      expect(await q.waitForResult(sum.id, { timeoutMs: 15_000 })).toBe(5);
      for (const f of failing) {
        await expect(q.waitForResult(f.id, { timeoutMs: 15_000 })).rejects.toMatchObject({ code: ErrorCodes.JOB_FAILED });
      }
      const done = await brokkrJson<JobJson>(['job', q.name, sum.id]);
      expect(done).toMatchObject({ status: 'completed', result: 5, attempts: 1, logs: ['adding 2 and 3'] });

      // the supervisor's Prometheus registry on /metrics, counting from the worker's start; other paths are 404
      const scraped = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.body).toContain(`brokkr_jobs_completed_total{queue="${q.name}",name="sum"} 1`);
      expect(scraped.body).toContain(`brokkr_jobs_failed_total{queue="${q.name}",name="explode"} 2`);
      expect(scraped.body).toContain(`brokkr_queue_jobs{queue="${q.name}",status="failed"} 2`);
      expect((await httpGet(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);

      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(logs.map((l) => l.msg)).toEqual(
        expect.arrayContaining([expect.stringMatching(/SIGTERM received, warm shutdown/), 'worker stopped']),
      );
    } finally {
      worker.kill('SIGKILL');
    }

    // with the worker gone the failed jobs stay where retry puts them
    const [one, two] = failing.map((f) => f.id) as [string, string];
    const byId = await brokkr(['retry', q.name, one]);
    expect(byId.code).toBe(0);
    expect(byId.stdout.trim()).toBe(`job ${one} is queued again`);
    expect((await q.getJob(one))!.status).toBe('queued');
    expect(await brokkrJson(['retry', q.name, '--all-failed'])).toEqual({ queue: q.name, retried: 1 });
    expect((await q.getJob(two))!.status).toBe('queued');
    const again = await brokkr(['retry', q.name, one]);
    expect(again.code).toBe(1);
    expectOneErrorLine(again, /only a failed job can be retried/);
  });
});

describe('managing jobs and queues', () => {
  it.concurrent('remove deletes a job, and removing it again fails with exit code 1', async () => {
    const q = h.queue(uniqueQueue('cli-remove'));
    const job = await q.enqueue('sum', { a: 1, b: 1 });
    expect(await brokkrJson(['remove', q.name, job.id])).toEqual({ queue: q.name, id: job.id, removed: true });
    expect(await q.getJob(job.id)).toBeNull();
    const again = await brokkr(['remove', q.name, job.id]);
    expect(again.code).toBe(1);
    expectOneErrorLine(again, new RegExp(`job ${job.id} cannot be found`));
  });

  it.concurrent('cancel ends a waiting job canceled with the reason given', async () => {
    const q = h.queue(uniqueQueue('cli-cancel'));
    const job = await q.enqueue('sum', { a: 1, b: 1 }, { delayMs: 3_600_000 });
    expect(await brokkrJson(['cancel', q.name, job.id, '--reason', 'sent by mistake'])).toEqual({
      queue: q.name,
      id: job.id,
      status: 'canceled',
    });
    expect(await q.getJob(job.id)).toMatchObject({
      status: 'canceled',
      error: { code: ErrorCodes.JOB_CANCELED, reason: 'sent by mistake' },
    });
  });

  it.concurrent('clean deletes finished records older than a duration, at most --limit', async () => {
    const q = h.queue(uniqueQueue('cli-clean'));
    const sup = h.supervisor({ queues: [q.name], handlers: fixture('cli-handlers') });
    await sup.start();
    const refs = await q.enqueueBulk([1, 2, 3].map((a) => ({ name: 'sum', data: { a, b: 0 } })));
    for (const ref of refs) await q.waitForResult(ref.id, { timeoutMs: 10_000 });
    await sup.close();
    const none = await brokkrJson(['clean', q.name, '--status', 'completed', '--older-than', '1h']);
    expect(none).toEqual({ queue: q.name, status: 'completed', deleted: 0 });
    const two = await brokkrJson(['clean', q.name, '--status', 'completed', '--limit', '2']);
    expect(two).toEqual({ queue: q.name, status: 'completed', deleted: 2 });
    expect((await q.getCounts()).completed).toBe(1);
  });

  it.concurrent('pause and resume switch the queue for every supervisor', async () => {
    const q = h.queue(uniqueQueue('cli-pause'));
    expect(await brokkrJson(['pause', q.name])).toEqual({ queue: q.name, paused: true });
    expect(await q.isPaused()).toBe(true);
    const resumed = await brokkr(['resume', q.name]);
    expect(resumed).toMatchObject({ code: 0, stdout: `queue ${q.name} resumed\n` });
    expect(await q.isPaused()).toBe(false);
  });

  it.concurrent('schedules lists a schedule with its next run', async () => {
    const q = h.queue(uniqueQueue('cli-sched'));
    const { nextRunAt } = await q.schedule('hourly-sum', { everyMs: 3_600_000 }, 'sum', { a: 1, b: 2 });
    const [json, table] = await Promise.all([
      brokkrJson<{ id: string; nextRunAt: number }[]>(['schedules', q.name]),
      brokkr(['schedules', q.name]),
    ]);
    expect(json).toEqual([expect.objectContaining({ id: 'hourly-sum', name: 'sum', nextRunAt, count: 0, data: { a: 1, b: 2 } })]);
    expect(table.stdout).toMatch(
      new RegExp(`^hourly-sum\\s+sum\\s+every 1h\\s+${new Date(nextRunAt!).toISOString()} \\(in [^)]+\\)\\s+never\\s+0`, 'm'),
    );
  });
});

describe('info', () => {
  it.concurrent('shows counts by status and the wait of the next job, for named queues and for queues it finds itself', async () => {
    const q = h.queue(uniqueQueue('cli-info'));
    const enqueuedAt = Date.now();
    await q.enqueueBulk([
      { name: 'sum', data: {} },
      { name: 'sum', data: {} },
    ]);
    await q.enqueue('sum', {}, { delayMs: 3_600_000 });
    type Info = { queues: { queue: string; paused: boolean; counts: Record<string, number>; headWaitingMs: number | null }[] };
    const [named, all, table] = await Promise.all([
      brokkrJson<Info>(['info', q.name]),
      brokkrJson<Info>(['info']),
      brokkr(['info', q.name]),
    ]);
    const row = named.queues[0]!;
    expect(row).toMatchObject({ queue: q.name, paused: false, counts: { queued: 2, delayed: 1, active: 0, completed: 0, failed: 0 } });
    expect(row.headWaitingMs).toBeGreaterThanOrEqual(0);
    expect(row.headWaitingMs).toBeLessThanOrEqual(Date.now() - enqueuedAt + 1_000);
    expect(all.queues.find((r) => r.queue === q.name)).toMatchObject({ paused: false, counts: row.counts });
    expect(table.stdout).toMatch(new RegExp(`^${q.name}\\s+-\\s+2\\s+0\\s+1\\s+0\\s+0\\s+0\\s+0\\s+0\\s+\\d+(ms|s)$`, 'm'));
  });

  it('--watch redraws until Ctrl-C, then exits 0', async () => {
    const q = h.queue(uniqueQueue('cli-watch'));
    await q.enqueue('sum', {});
    const { child, stdout, exited } = startCli(['info', q.name, '--watch', '0.2']);
    try {
      // off a terminal the frames follow each other
      await waitFor(() => stdout().split('Queues\n').length > 2, 15_000, 'two frames');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout()).toMatch(new RegExp(`^${q.name}\\s+-\\s+1\\s`, 'm'));
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('workers, events, and what info shows of them', () => {
  it('workers lists the live supervisors; info shows their throughput, timings and heartbeats', async () => {
    const q = h.queue(uniqueQueue('cli-obs'));
    const sup = h.supervisor({ queues: [q.name], threads: 1, heartbeatMs: 200, handlers: fixture('cli-handlers') });
    await sup.start();
    const job = await q.enqueue('sum', { a: 1, b: 1 });
    await q.waitForResult(job.id, { timeoutMs: 10_000 });
    await waitFor(async () => (await q.getWorkers())[0]?.completed === 1, 5_000, 'the heartbeat with the count');

    type Worker = { id: string; pid: number; queues: string[]; completed: number };
    const [workers, allWorkers, table] = await Promise.all([
      brokkrJson<Worker[]>(['workers', q.name]),
      brokkrJson<Worker[]>(['workers']),
      brokkr(['workers', q.name]),
    ]);
    expect(workers).toEqual([expect.objectContaining({ id: sup.id, pid: process.pid, queues: [q.name], completed: 1 })]);
    expect(allWorkers.map((w) => w.id)).toContain(sup.id);
    expect(table.stdout).toMatch(new RegExp(`^\\S+\\s+${process.pid}\\s+${q.name}\\s+1\\s+1\\s+0\\s+1\\s+0\\s`, 'm'));

    type Info = {
      throughput: { queue: string; fiveMinutes: { completed: number; runMs: { count: number } } }[];
      supervisors: { id: string }[];
    };
    const info = await brokkrJson<Info>(['info', q.name]);
    expect(info.throughput).toEqual([expect.objectContaining({ queue: q.name, fiveMinutes: expect.objectContaining({ completed: 1 }) })]);
    expect(info.throughput[0]!.fiveMinutes.runMs.count).toBe(1);
    expect(info.supervisors.map((s) => s.id)).toEqual([sup.id]);
  });

  it('events tails the queue as JSON lines until Ctrl-C', async () => {
    const q = h.queue(uniqueQueue('cli-events'));
    const before = await q.enqueue('sum', { a: 1, b: 2 });
    const { child, stdout, exited } = startCli(['events', q.name, '--from', '0', '--json']);
    const lines = () =>
      stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; type: string; job?: { id: string } });
    try {
      await waitFor(() => lines().length === 1, 15_000, 'the event written before it started');
      const after = await q.enqueue('sum', { a: 2, b: 2 }, { delayMs: 60_000 });
      await waitFor(() => lines().length === 3, 10_000, 'the events written while it ran');
      expect(lines().map((e) => `${e.type} ${e.job?.id}`)).toEqual([`added ${before.id}`, `added ${after.id}`, `delayed ${after.id}`]);
      expect(lines()[0]!.id).toMatch(/^\d+-\d+$/);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('errors', () => {
  it.concurrent('bad input is one line on stderr and exit code 2', async () => {
    const q = uniqueQueue('cli-bad');
    const runs = await Promise.all([
      brokkr(['jobs', q, '--status', 'sleeping']),
      brokkr(['enqueue', q, 'sum', '{"a":']),
      brokkr(['enqueue', q, 'sum', '1', '--delay', 'soon']),
      brokkr(['enqueue', q, 'sum', '1', '--priority', '-1']),
      brokkr(['retry', q]),
      brokkr(['jobs', 'bad{name}', '--status', 'failed']),
      brokkr(['frobnicate']),
    ]);
    const patterns = [
      /argument 'sleeping' is invalid\. Allowed choices are queued, active/,
      /the job data is not valid JSON/,
      /option '--delay <duration>' argument 'soon' is invalid\. it must be a number of milliseconds or a number with a unit/,
      /option '--priority <n>' argument '-1' is invalid\. it must be a whole number from 0 to 1000000/,
      /retry takes either a job id or --all-failed/,
      /queue name must be a non-empty string .* without braces/,
      /unknown command 'frobnicate'/,
    ];
    runs.forEach((run, i) => {
      expect(run.code).toBe(2);
      expectOneErrorLine(run, patterns[i]!);
    });
  });

  it('an unreachable Redis is reported in one line without a stack trace, and the worker does not wait for it', async () => {
    const port = await freePort(); // nothing listens there
    const url = `redis://127.0.0.1:${port}`;
    const runs = await Promise.all([
      brokkr(['info'], { target: ['--redis', url] }),
      brokkr(['worker', '--handlers', 'spec/fixtures/cli-handlers.ts', '--queue', 'q'], { target: ['--redis', url] }),
      brokkr(['jobs', 'q', '--status', 'failed'], { target: ['--redis', url, '--cluster'] }),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      // the refusal is reported at once; the rest is Node and tsx starting, which on a busy machine
      // takes seconds. Without the probe, worker would retry forever (and info for 5 s, saying so).
      expect(run.ms).toBeLessThan(15_000);
      expectOneErrorLine(
        run,
        new RegExp(`^brokkr: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}( \\(cluster\\))? \\(.*ECONNREFUSED`),
      );
    }
  });

  it('a Redis that accepts connections but never answers is given up on after 3 s', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)); // reads nothing, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      // in this process, so that the time measured is the probe's and not a child's start-up
      const started = performance.now();
      await expect(probe(resolveTarget({ redis: url }))).rejects.toThrow(`cannot reach Redis at ${url} (no answer within 3000 ms)`);
      expect(performance.now() - started).toBeGreaterThanOrEqual(2_900);
      expect(performance.now() - started).toBeLessThan(4_500);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
