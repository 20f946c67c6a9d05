import { type Command, Option } from 'commander';
import { JobNotFoundError } from '../errors';
import type { AttemptError, JobInfo } from '../job';
import { LISTED_STATUSES, type ListedStatus } from '../states';
import { integerArgument } from './arguments';
import { type CommandContext, runCommand } from './context';
import { formatRelative } from '../format';
import { type Column, compactJson, paint, printJson, printText, renderFields, renderTable, statusStyle } from './output';

interface JobsOptions {
  status: ListedStatus;
  limit: number;
  offset: number;
}

/** getLogs returns at most this many lines per call; a job keeps its last maxLogLines (1,000 by default). */
const LOG_PAGE = 1_000;

export function registerJobCommands(program: Command): void {
  program
    .command('jobs')
    .description('list the jobs of one status')
    .argument('<queue>', 'queue name')
    .addOption(new Option('--status <status>', 'which jobs').choices(LISTED_STATUSES).makeOptionMandatory())
    .option('--limit <n>', 'at most this many (up to 1000)', integerArgument(1, 1_000), 50)
    .option('--offset <n>', 'skip this many first', integerArgument(0), 0)
    .addHelpText('after', '\nOrder: queued jobs in the order they will run; the others newest first.')
    .action(runCommand<JobsOptions>(listJobs));

  program
    .command('job')
    .description('one job in full: status, timings, tries, result or error, progress, logs, dependencies')
    .argument('<queue>', 'queue name')
    .argument('<id>', 'job id')
    .action(runCommand(showJob));
}

async function listJobs(ctx: CommandContext, [queueName]: string[], options: JobsOptions): Promise<void> {
  const queue = await ctx.queue(queueName!);
  const jobs = await queue.getJobs({ status: options.status, limit: options.limit, offset: options.offset });
  if (ctx.json) return printJson(jobs);
  if (jobs.length === 0) return printText(`no ${options.status} jobs in queue ${queueName}`);
  const now = Date.now();
  const columns: Column<JobInfo>[] = [
    { header: 'ID', value: (j) => j.id },
    { header: 'NAME', value: (j) => j.name },
    { header: 'STATUS', value: (j) => j.status, style: (j) => statusStyle(j.status) },
    { header: 'ATTEMPT', value: (j) => attemptsText(j), align: 'right' },
    { header: 'ENQUEUED', value: (j) => formatRelative(j.createdAt, now) },
    { header: 'FINISHED', value: (j) => (j.finishedAt === undefined ? '' : formatRelative(j.finishedAt, now)) },
    { header: 'ERROR', value: (j) => (j.error ? `${j.error.name}: ${j.error.message}` : ''), maxWidth: 80 },
  ];
  printText(renderTable(columns, jobs));
}

async function showJob(ctx: CommandContext, [queueName, id]: string[]): Promise<void> {
  const queue = await ctx.queue(queueName!);
  const job = await queue.getJob(id!);
  if (!job) throw new JobNotFoundError(id!, `queue ${queueName} has no record of it (never enqueued, expired or removed)`);
  const logs = await queue.getLogs(id!, { limit: LOG_PAGE });
  if (ctx.json) return printJson({ ...job, logs });
  printText(renderFields(jobFields(job, logs)));
}

/** "2 of 3": tries so far, of those allowed. */
function attemptsText(job: JobInfo): string {
  return job.opts.attempts !== undefined ? `${job.attempts}/${job.opts.attempts}` : String(job.attempts);
}

function jobFields(job: JobInfo, logs: string[]): [string, string][] {
  const now = Date.now();
  const at = (ms: number | undefined) => (ms === undefined ? undefined : `${new Date(ms).toISOString()} (${formatRelative(ms, now)})`);
  const fields: [string, string | undefined][] = [
    ['id', job.id],
    ['queue', job.queue],
    ['name', job.name],
    ['status', paint(statusStyle(job.status), job.status)],
    ['attempts', job.opts.attempts !== undefined ? `${job.attempts} of ${job.opts.attempts}` : String(job.attempts)],
    ['enqueued', at(job.createdAt)],
    ['runs at', job.status === 'delayed' || job.status === 'retrying' ? at(job.runAt) : undefined],
    ['started', at(job.startedAt)],
    ['finished', at(job.finishedAt)],
    ['took', job.startedAt !== undefined && job.finishedAt !== undefined ? `${job.finishedAt - job.startedAt} ms` : undefined],
    ['options', optionsText(job)],
    ['depends on', dependenciesText(job)],
    ['data', compactJson(job.data)],
    ['progress', job.progress === undefined ? undefined : compactJson(job.progress)],
    ['result', 'result' in job ? JSON.stringify(job.result, null, 2) : undefined],
    ['error', job.error ? errorText(job.error) : undefined],
    ['failed tries', failedTriesText(job.errors)],
    ['logs', logs.length === 0 ? undefined : `${logs.length} line${logs.length === 1 ? '' : 's'}\n${logs.join('\n')}`],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
}

function optionsText(job: JobInfo): string {
  const { timeoutMs, priority, group, backoff, resultTtlMs, failedTtlMs } = job.opts;
  const parts = [
    timeoutMs !== undefined ? `timeout ${timeoutMs} ms` : '',
    priority ? `priority ${priority}` : '',
    group !== undefined ? `group ${group}` : '',
    backoff !== undefined ? `backoff ${compactJson(backoff)}` : '',
    resultTtlMs !== undefined ? `result kept ${resultTtlMs} ms` : '',
    failedTtlMs !== undefined ? `failure kept ${failedTtlMs} ms` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

function dependenciesText(job: JobInfo): string | undefined {
  const deps = job.opts.dependsOn;
  if (!deps || deps.length === 0) return undefined;
  const policy = job.opts.onDependencyFailure ?? 'fail';
  return `${deps.map((d) => (d.queue === job.queue ? d.id : `${d.queue}/${d.id}`)).join(', ')} (if one fails: ${policy})`;
}

function errorText(error: NonNullable<JobInfo['error']>): string {
  const head = `${error.name}: ${error.message}${error.code ? ` [${error.code}]` : ''}`;
  // a stack starts with the same "Name: message" line
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at\s/.test(line));
  return [head, ...frames.map((f) => f.trim())].join('\n');
}

/** The record keeps the errors of the last 10 failed tries, oldest first. */
function failedTriesText(errors: AttemptError[]): string | undefined {
  if (errors.length === 0) return undefined;
  return errors.map((e) => `attempt ${e.attempt} at ${new Date(e.failedAt).toISOString()}: ${e.error.name}: ${e.error.message}`).join('\n');
}
