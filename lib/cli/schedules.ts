import type { Command } from 'commander';
import type { ScheduleInfo, StoredSpec } from '../schedule';
import { type CommandContext, runCommand } from './context';
import { formatRelative } from '../format';
import { formatInterval } from './durations';
import { type Column, compactJson, printJson, printText, renderTable } from './output';

export function registerScheduleCommands(program: Command): void {
  program
    .command('schedules')
    .description("list a queue's recurring schedules with their next run")
    .argument('<queue>', 'queue name')
    .action(runCommand(listSchedules));
}

async function listSchedules(ctx: CommandContext, [queueName]: string[]): Promise<void> {
  const queue = await ctx.queue(queueName!);
  const schedules = await queue.schedules();
  if (ctx.json) return printJson(schedules);
  if (schedules.length === 0) return printText(`queue ${queueName} has no schedules`);
  const now = Date.now();
  const when = (ms: number | null, none: string) => (ms === null ? none : `${new Date(ms).toISOString()} (${formatRelative(ms, now)})`);
  const columns: Column<ScheduleInfo>[] = [
    { header: 'ID', value: (s) => s.id },
    { header: 'JOB', value: (s) => s.name },
    { header: 'WHEN', value: (s) => specText(s.spec) },
    { header: 'NEXT RUN', value: (s) => when(s.nextRunAt, 'ended') },
    { header: 'LAST RUN', value: (s) => when(s.lastRunAt, 'never') },
    { header: 'RUNS', value: (s) => String(s.count), align: 'right' },
    { header: 'DATA', value: (s) => compactJson(s.data), maxWidth: 40 },
  ];
  printText(renderTable(columns, schedules));
}

function specText(spec: StoredSpec): string {
  const base = spec.cron !== undefined ? `cron ${spec.cron}${spec.tz ? ` ${spec.tz}` : ''}` : `every ${formatInterval(spec.everyMs ?? 0)}`;
  const bounds = [
    spec.startAt !== undefined ? `from ${new Date(spec.startAt).toISOString()}` : '',
    spec.endAt !== undefined ? `until ${new Date(spec.endAt).toISOString()}` : '',
    spec.limit !== undefined ? `at most ${spec.limit}` : '',
  ].filter(Boolean);
  return bounds.length > 0 ? `${base} (${bounds.join(', ')})` : base;
}
