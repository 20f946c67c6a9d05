import type { Command } from 'commander';
import type { JobOptions } from '../job';
import type { Queue } from '../queue';
import { durationArgument, integerArgument } from './arguments';
import { type CommandContext, runCommand } from './context';
import { CommandFailedError, isBadInput, UsageError } from './errors';
import { printJson, printText } from './output';
import { ProgressBar } from './progress-bar';

interface EnqueueOptions {
  delay?: number;
  attempts?: number;
  priority?: number;
}

/** Jobs per enqueueBulk call: the library writes 1,000 per round trip, and the progress bar moves per call. */
const BATCH_SIZE = 1_000;

export function registerEnqueueCommand(program: Command): void {
  program
    .command('enqueue')
    .description('add a job; with no [json] and JSON lines on stdin, add one job per line')
    .argument('<queue>', 'queue name')
    .argument('<name>', 'job name: the handler that runs it')
    .argument('[json]', 'the job data as JSON (omitted with a terminal on stdin: null)')
    .option('--delay <duration>', 'run no earlier than this from now (500ms, 10s, 2m, 1h)', durationArgument)
    .option('--attempts <n>', 'tries in all, the first included (default 1: no retry)', integerArgument(1))
    .option('--priority <n>', '0 to 1000000, lower runs first (default 0)', integerArgument(0, 1_000_000))
    .addHelpText(
      'after',
      `
Bulk: each non-empty line of stdin is the JSON data of one job named <name>, with the options
given here. stdin is read to its end and every line checked before the first job is written, so
a bad line enqueues nothing. Jobs are written 1,000 per call; a progress bar shows on a terminal.

  brokkr enqueue emails send '{"to":"a@example.com"}' --attempts 3
  jq -c '.[]' recipients.json | brokkr enqueue emails send`,
    )
    .action(runCommand<EnqueueOptions>(enqueue));
}

async function enqueue(ctx: CommandContext, args: string[], options: EnqueueOptions): Promise<void> {
  const [queueName, name, json] = args as [string, string, string | undefined];
  const opts = jobOptions(options);
  if (json !== undefined || process.stdin.isTTY) {
    const data = json === undefined ? null : parseJson(json, 'the job data');
    const queue = await ctx.queue(queueName);
    const ref = await queue.enqueue(name, data, opts);
    if (ctx.json) printJson(ref);
    else printText(ref.id);
    return;
  }
  const lines = await readDataLines(process.stdin);
  if (lines.length === 0) {
    throw new UsageError('stdin held no jobs: give the data as an argument to enqueue one job, or pipe JSON lines');
  }
  const queue = await ctx.queue(queueName);
  const enqueued = await enqueueInBatches(queue, name, lines, opts);
  if (ctx.json) printJson({ queue: queueName, name, enqueued });
  else printText(`enqueued ${enqueued} job${enqueued === 1 ? '' : 's'} to queue ${queueName}`);
}

function jobOptions(options: EnqueueOptions): JobOptions {
  const opts: JobOptions = {};
  if (options.delay !== undefined) opts.delayMs = options.delay;
  if (options.attempts !== undefined) opts.attempts = options.attempts;
  if (options.priority !== undefined) opts.priority = options.priority;
  return opts;
}

async function enqueueInBatches(queue: Queue, name: string, lines: unknown[], opts: JobOptions): Promise<number> {
  const bar = new ProgressBar(lines.length, 'jobs');
  let done = 0;
  try {
    for (let start = 0; start < lines.length; start += BATCH_SIZE) {
      const batch = lines.slice(start, start + BATCH_SIZE).map((data) => ({ name, data, opts }));
      done += (await queue.enqueueBulk(batch)).length;
      bar.update(done);
    }
  } catch (err) {
    // earlier batches are stored: say how far it got, so a rerun can skip them
    const message = `${(err as Error).message} (${done} of ${lines.length} jobs were enqueued before this)`;
    throw isBadInput(err) ? new UsageError(message) : new CommandFailedError(message, { cause: err });
  } finally {
    bar.finish();
  }
  return done;
}

/** Every non-empty line as a JSON value; the first bad line is a usage error naming its number. */
async function readDataLines(stream: NodeJS.ReadableStream): Promise<unknown[]> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  const values: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    values.push(parseJson(line, `stdin line ${i + 1}`));
  });
  return values;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message})`);
  }
}
