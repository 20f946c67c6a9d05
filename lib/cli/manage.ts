import { type Command, Option } from 'commander';
import { JobNotFoundError } from '../errors';
import { durationArgument, integerArgument } from './arguments';
import { type CommandContext, runCommand } from './context';
import { UsageError } from './errors';
import { printJson, printText } from './output';

/** Commands that change jobs or a queue: each prints what it did, or one JSON object with --json. */
export function registerManageCommands(program: Command): void {
  program
    .command('retry')
    .description('put a failed job back to queued (its tries start over), or every failed job with --all-failed')
    .argument('<queue>', 'queue name')
    .argument('[id]', 'job id')
    .option('--all-failed', 'every failed job of the queue')
    .action(runCommand<{ allFailed?: boolean }>(retry));

  program
    .command('remove')
    .description('delete a job that is not active')
    .argument('<queue>', 'queue name')
    .argument('<id>', 'job id')
    .action(runCommand(remove));

  program
    .command('cancel')
    .description('cancel a job: a waiting one at once, a running one once its handler stops')
    .argument('<queue>', 'queue name')
    .argument('<id>', 'job id')
    .option('--reason <text>', 'kept on the job and passed to its handler')
    .action(runCommand<{ reason?: string }>(cancel));

  program
    .command('clean')
    .description('delete completed or failed records')
    .argument('<queue>', 'queue name')
    .addOption(new Option('--status <status>', 'which records').choices(['completed', 'failed']).makeOptionMandatory())
    .option('--older-than <duration>', 'only those that finished at least this long ago (1h, 2d)', durationArgument)
    .option('--limit <n>', 'delete at most this many', integerArgument(1))
    .action(runCommand<CleanOptions>(clean));

  program
    .command('pause')
    .description('stop every supervisor from starting jobs of the queue (running jobs finish; enqueue goes on)')
    .argument('<queue>', 'queue name')
    .action(runCommand((ctx, args) => setPaused(ctx, args[0]!, true)));

  program
    .command('resume')
    .description('let supervisors start jobs of a paused queue again')
    .argument('<queue>', 'queue name')
    .action(runCommand((ctx, args) => setPaused(ctx, args[0]!, false)));
}

interface CleanOptions {
  status: 'completed' | 'failed';
  olderThan?: number;
  limit?: number;
}

async function retry(ctx: CommandContext, [queueName, id]: string[], options: { allFailed?: boolean }): Promise<void> {
  if ((id === undefined) === !options.allFailed) throw new UsageError('retry takes either a job id or --all-failed');
  const queue = await ctx.queue(queueName!);
  if (options.allFailed) {
    const retried = await queue.retryAll({ status: 'failed' });
    if (ctx.json) return printJson({ queue: queueName, retried });
    return printText(`retried ${retried} failed job${retried === 1 ? '' : 's'} of queue ${queueName}`);
  }
  await queue.retry(id!);
  if (ctx.json) return printJson({ queue: queueName, id, retried: 1 });
  printText(`job ${id} is queued again`);
}

async function remove(ctx: CommandContext, [queueName, id]: string[]): Promise<void> {
  const queue = await ctx.queue(queueName!);
  if (!(await queue.remove(id!))) throw new JobNotFoundError(id!, `queue ${queueName} has no record of it`);
  if (ctx.json) return printJson({ queue: queueName, id, removed: true });
  printText(`job ${id} removed`);
}

async function cancel(ctx: CommandContext, [queueName, id]: string[], options: { reason?: string }): Promise<void> {
  const queue = await ctx.queue(queueName!);
  const status = await queue.cancel(id!, options.reason ?? '');
  if (ctx.json) return printJson({ queue: queueName, id, status });
  printText(status === 'canceled' ? `job ${id} canceled` : `job ${id} is running: its supervisor is stopping it (canceling)`);
}

async function clean(ctx: CommandContext, [queueName]: string[], options: CleanOptions): Promise<void> {
  const queue = await ctx.queue(queueName!);
  const deleted = await queue.clean({
    status: options.status,
    ...(options.olderThan !== undefined ? { olderThanMs: options.olderThan } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
  if (ctx.json) return printJson({ queue: queueName, status: options.status, deleted });
  printText(`deleted ${deleted} ${options.status} job${deleted === 1 ? '' : 's'} of queue ${queueName}`);
}

async function setPaused(ctx: CommandContext, queueName: string, paused: boolean): Promise<void> {
  const queue = await ctx.queue(queueName);
  if (paused) await queue.pause();
  else await queue.resume();
  if (ctx.json) return printJson({ queue: queueName, paused });
  printText(`queue ${queueName} ${paused ? 'paused' : 'resumed'}`);
}
