import type { Command } from 'commander';
import type { QueueMetrics } from '../metrics';
import { QueueEvents } from '../queue-events';
import { STREAM_EVENTS } from '../states';
import type { WorkerInfo } from '../workers';
import { type CommandContext, runCommand } from './context';
import { formatDuration } from '../format';
import type { InfoSection } from './info';
import { type Column, paint, printJson, printText, renderTable } from './output';

/** `brokkr workers`, `brokkr events`, and the throughput and supervisor sections of `brokkr info`. */

export function registerObserveCommands(program: Command): void {
  program
    .command('workers')
    .description('the live supervisors (those whose last heartbeat has not expired), with what they run')
    .argument('[queue]', 'only those serving this queue')
    .action(runCommand<Record<string, never>, [string | undefined]>(workers));
  program
    .command('events')
    .description("tail a queue's events as they happen, from any process, until Ctrl-C (--json: one JSON object per line)")
    .argument('<queue>', 'queue name')
    .option('--from <id>', "start after this event id, or '0' for the oldest kept (default: only new events)")
    .action(runCommand<{ from?: string }, [string]>(events));
}

async function workers(ctx: CommandContext, [queue]: [string | undefined]): Promise<void> {
  const section = queue ? await supervisorsSection(ctx, [queue]) : await supervisorsSection(ctx, [], true);
  if (ctx.json) return printJson(section.json);
  printText(section.text);
}

/** The supervisors serving the queues named, or with `all` every live one under the prefix. */
export async function supervisorsSection(ctx: CommandContext, queues: string[], all = false): Promise<InfoSection> {
  const lists = all
    ? // the registry is the prefix's, not a queue's: any queue handle reads it
      [await (await ctx.queue('registry')).getAllWorkers()]
    : await Promise.all(queues.map(async (q) => (await ctx.queue(q)).getWorkers()));
  const byId = new Map<string, WorkerInfo>();
  for (const w of lists.flat()) byId.set(w.id, w);
  const rows = [...byId.values()].sort((a, b) => a.startedAt - b.startedAt);
  const now = Date.now();
  const columns: Column<WorkerInfo>[] = [
    { header: 'HOST', value: (w) => w.host },
    { header: 'PID', value: (w) => String(w.pid), align: 'right' },
    { header: 'QUEUES', value: (w) => w.queues.join(','), maxWidth: 40 },
    { header: 'CONCURRENCY', value: (w) => String(w.concurrency), align: 'right' },
    { header: 'THREADS', value: (w) => String(w.threads), align: 'right' },
    { header: 'RUNNING', value: (w) => String(w.running), align: 'right' },
    { header: 'COMPLETED', value: (w) => w.completed.toLocaleString('en'), align: 'right' },
    { header: 'FAILED', value: (w) => w.failed.toLocaleString('en'), align: 'right', style: (w) => (w.failed > 0 ? 'red' : undefined) },
    { header: 'UP', value: (w) => formatDuration(Math.max(0, now - w.startedAt)), align: 'right' },
    { header: 'LAST BEAT', value: (w) => `${formatDuration(Math.max(0, now - w.lastHeartbeat))} ago`, align: 'right' },
    { header: 'VERSION', value: (w) => w.version },
  ];
  const text = rows.length === 0 ? '(no live supervisors)' : renderTable(columns, rows);
  return { key: 'supervisors', title: 'Supervisors', json: rows, text };
}

interface ThroughputRow {
  queue: string;
  /** the last whole minute */
  lastMinute: { completed: number; failed: number };
  /** the last five minutes, this one included */
  fiveMinutes: Pick<QueueMetrics, 'completed' | 'failed' | 'waitMs' | 'runMs'>;
}

/** Per queue: completions and failures in the last whole minute, and wait and run time percentiles over five. */
export async function throughputSection(ctx: CommandContext, queues: string[]): Promise<InfoSection> {
  const rows = await Promise.all(
    queues.map(async (name): Promise<ThroughputRow> => {
      const m = await (await ctx.queue(name)).getMetrics({ sinceMs: 5 * 60_000 });
      const last = m.minutes.at(-2) ?? { completed: 0, failed: 0 };
      const { completed, failed, waitMs, runMs } = m;
      return {
        queue: name,
        lastMinute: { completed: last.completed, failed: last.failed },
        fiveMinutes: { completed, failed, waitMs, runMs },
      };
    }),
  );
  const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
  const columns: Column<ThroughputRow>[] = [
    { header: 'QUEUE', value: (r) => r.queue },
    { header: 'COMPLETED/MIN', value: (r) => r.lastMinute.completed.toLocaleString('en'), align: 'right' },
    {
      header: 'FAILED/MIN',
      value: (r) => r.lastMinute.failed.toLocaleString('en'),
      align: 'right',
      style: (r) => (r.lastMinute.failed > 0 ? 'red' : undefined),
    },
    { header: 'COMPLETED 5M', value: (r) => r.fiveMinutes.completed.toLocaleString('en'), align: 'right' },
    { header: 'FAILED 5M', value: (r) => r.fiveMinutes.failed.toLocaleString('en'), align: 'right' },
    { header: 'WAIT P50/P95', value: (r) => `${ms(r.fiveMinutes.waitMs.p50)} / ${ms(r.fiveMinutes.waitMs.p95)}`, align: 'right' },
    { header: 'RUN P50/P95', value: (r) => `${ms(r.fiveMinutes.runMs.p50)} / ${ms(r.fiveMinutes.runMs.p95)}`, align: 'right' },
  ];
  const text = rows.length === 0 ? '(no queues)' : renderTable(columns, rows);
  return { key: 'throughput', title: 'Throughput (last whole minute; last 5 minutes)', json: rows, text };
}

async function events(ctx: CommandContext, [queue]: [string], options: { from?: string }): Promise<void> {
  await ctx.queue(queue); // checks the name and that Redis answers
  const subscriber = new QueueEvents(queue, {
    connection: ctx.target.connection,
    prefix: ctx.target.prefix,
    ...(options.from !== undefined ? { from: options.from } : {}),
  });
  const print = (type: string, payload: unknown, id?: string) => {
    if (ctx.json) return printText(JSON.stringify({ id, type, ...(payload as object) }));
    const p = payload as { job?: { id: string; name: string; attempt: number } };
    const who = p.job ? `${p.job.id} ${p.job.name} #${p.job.attempt}` : '';
    const rest = describe(type, payload);
    const style = type === 'failed' || type === 'gap' ? 'red' : type === 'completed' ? 'green' : undefined;
    printText(`${paint('dim', new Date().toISOString())} ${paint(style, type.padEnd(9))} ${who}${rest ? `  ${rest}` : ''}`);
  };
  for (const type of STREAM_EVENTS) subscriber.on(type, (payload: unknown, id: string) => print(type, payload, id));
  subscriber.on('gap', (gap) => print('gap', gap));
  subscriber.on('broker:down', (e) => process.stderr.write(`brokkr: Redis is unreachable (${e.error}); retrying\n`));
  subscriber.on('error', (err) => process.stderr.write(`brokkr: ${err.message}\n`));
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.race([subscriber.waitUntilReady(), stop]);
  if (!ctx.json) process.stderr.write(`listening to ${queue} (Ctrl-C to stop)\n`);
  await stop;
  await subscriber.close();
}

function describe(type: string, payload: unknown): string {
  const p = payload as Record<string, unknown>;
  switch (type) {
    case 'failed':
    case 'retrying':
      return String((p.error as { message?: string } | undefined)?.message ?? '');
    case 'completed':
      return p.resultOmitted ? '(result too large for the event)' : (JSON.stringify(p.result) ?? '');
    case 'added':
    case 'removed':
      return String(p.status);
    case 'delayed':
      return `until ${new Date(Number(p.runAt)).toISOString()}`;
    case 'requeued':
    case 'canceled':
      return String(p.reason ?? '');
    case 'progress':
      return JSON.stringify(p.progress) ?? '';
    case 'gap':
      return `events after ${String(p.after)} were trimmed before they were read (${p.missed ?? 'an unknown number'} missed)`;
    default:
      return '';
  }
}
