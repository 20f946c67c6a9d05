import { mapLimited } from '../map-limited';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { JobCounts } from '../job';
import { LISTED_STATUSES } from '../states';
import { discoverQueues } from '../redis/discover';
import { type CommandContext, runCommand } from './context';
import { formatDuration } from '../format';
import { describeFailure, UsageError } from './errors';
import { supervisorsSection, throughputSection } from './observe';
import { type Column, paint, printJson, printText, renderTable } from './output';

/**
 * One block of `brokkr info`: a titled table for people and one key of the JSON document. Each
 * section is built by its own function from the queues shown, so a new one (throughput,
 * supervisors) is a builder added to INFO_SECTIONS, with nothing else to change.
 */
export interface InfoSection {
  /** its key in the JSON document */
  key: string;
  title: string;
  json: unknown;
  text: string;
}

export type InfoSectionBuilder = (ctx: CommandContext, queues: string[]) => Promise<InfoSection>;

/** The sections `info` shows, in order. */
export const INFO_SECTIONS: InfoSectionBuilder[] = [queuesSection, throughputSection, supervisorsSection];

/** Queues looked at in parallel: each opens a connection of its own, so not a hundred at once. */
const QUEUES_IN_FLIGHT = 8;
const DEFAULT_WATCH_SECONDS = 2;

interface InfoOptions {
  watch?: number | true;
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description(
      'per queue the counts by status, paused or not, how long the next job has waited, throughput and timings; the live supervisors',
    )
    .argument('[queue...]', 'queue names (default: every queue under the prefix, found with SCAN)')
    .option('--watch [seconds]', `redraw every few seconds (default ${DEFAULT_WATCH_SECONDS}) until Ctrl-C`, watchSeconds)
    .action(runCommand<InfoOptions, [string[]]>(info));
}

function watchSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) {
    throw new InvalidArgumentError('it must be a number of seconds from 0.2 to 3600.');
  }
  return seconds;
}

async function info(ctx: CommandContext, [named]: [string[]], options: InfoOptions): Promise<void> {
  if (options.watch !== undefined && ctx.json) {
    throw new UsageError('--watch redraws a table and does not combine with --json (run info --json repeatedly instead)');
  }
  for (const name of named) await ctx.queue(name); // a bad name is reported before anything is read
  await ctx.connect();
  const queues = () => (named.length > 0 ? Promise.resolve(named) : discoverQueues(ctx.target));
  if (options.watch === undefined) {
    const sections = await buildInfo(ctx, await queues());
    if (ctx.json) return printJson(Object.fromEntries(sections.map((s) => [s.key, s.json])));
    return printText(renderSections(sections));
  }
  await watch(ctx, queues, options.watch === true ? DEFAULT_WATCH_SECONDS : options.watch);
}

export async function buildInfo(ctx: CommandContext, queues: string[]): Promise<InfoSection[]> {
  return Promise.all(INFO_SECTIONS.map((build) => build(ctx, queues)));
}

function renderSections(sections: InfoSection[]): string {
  return sections.map((s) => `${paint('bold', s.title)}\n${s.text}`).join('\n\n');
}

interface QueueRow {
  queue: string;
  paused: boolean;
  counts: JobCounts;
  /**
   * How long the job next in line has been runnable (ms), null when none is queued. It is the
   * oldest queued job when the queue's jobs share one priority and no group; with priorities or
   * groups it is the one that runs next, which is what a backlog's delay is felt by.
   */
  headWaitingMs: number | null;
}

async function queuesSection(ctx: CommandContext, names: string[]): Promise<InfoSection> {
  const now = Date.now();
  const rows = await mapLimited(names, QUEUES_IN_FLIGHT, async (name): Promise<QueueRow> => {
    const queue = await ctx.queue(name);
    const [counts, paused, [head]] = await Promise.all([
      queue.getCounts(),
      queue.isPaused(),
      // the first queued job in lease order: one ZRANGE and one HGETALL, whatever the backlog
      queue.getJobs({ status: 'queued', limit: 1 }),
    ]);
    // a delayed or retried job has waited since it became due, not since it was enqueued
    const since = head ? Math.max(head.createdAt, head.runAt ?? 0) : null;
    return { queue: name, paused, counts, headWaitingMs: since === null ? null : Math.max(0, now - since) };
  });
  const columns: Column<QueueRow>[] = [
    { header: 'QUEUE', value: (r) => r.queue },
    { header: 'PAUSED', value: (r) => (r.paused ? 'paused' : '-'), style: (r) => (r.paused ? 'yellow' : undefined) },
    ...LISTED_STATUSES.map(
      (status): Column<QueueRow> => ({
        header: status.toUpperCase(),
        value: (r) => r.counts[status].toLocaleString('en'),
        align: 'right',
        style: (r) => (status === 'failed' && r.counts.failed > 0 ? 'red' : undefined),
      }),
    ),
    { header: 'NEXT WAITING', value: (r) => (r.headWaitingMs === null ? '-' : formatDuration(r.headWaitingMs)), align: 'right' },
  ];
  const text = rows.length === 0 ? '(no queues found under this prefix)' : renderTable(columns, rows);
  return { key: 'queues', title: 'Queues', json: rows, text };
}

/**
 * Redraws until Ctrl-C (or SIGTERM). On a terminal each frame replaces the last (cursor home,
 * each line cleared to its end, the rest of the screen cleared), so nothing flickers or scrolls;
 * elsewhere frames follow each other. A failed refresh shows its error and the next one tries again.
 */
async function watch(ctx: CommandContext, queues: () => Promise<string[]>, seconds: number): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (tty) process.stdout.write('\x1b[?25l\x1b[2J');
  try {
    while (!stop.signal.aborted) {
      let body: string;
      try {
        body = renderSections(await buildInfo(ctx, await queues()));
      } catch (err) {
        body = paint('red', describeFailure(err).line);
      }
      const header = paint(
        'dim',
        `${new Date().toISOString()}  ${ctx.target.display}  prefix ${ctx.target.prefix}  every ${seconds}s, Ctrl-C to stop`,
      );
      const frame = `${header}\n\n${body}`;
      if (tty) process.stdout.write(`\x1b[H${frame.split('\n').join('\x1b[K\n')}\x1b[K\n\x1b[J`);
      else process.stdout.write(`${frame}\n\n`);
      await sleep(seconds * 1_000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (tty) process.stdout.write('\x1b[?25h');
  }
}
