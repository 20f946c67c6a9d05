import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { supervisorOptionsFromEnv } from '../env';
import { onShutdownSignals } from '../supervisor/signals';
import { Supervisor } from '../supervisor/supervisor';
import { collect, durationArgument, integerArgument } from './arguments';
import { type CommandContext, runCommand } from './context';
import { UsageError } from './errors';
import { type CliLogger, createLogger } from './logging';
import { startMetricsServer } from './metrics-server';

interface WorkerOptions {
  handlers: string;
  queue?: string[];
  concurrency?: number;
  threads?: number;
  timeout?: number;
  metricsPort?: number;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a supervisor: the jobs of the queues run on worker threads, until SIGINT or SIGTERM')
    .requiredOption('--handlers <module>', 'module whose named exports are the handlers (job name = export name)')
    .option('--queue <name>', 'a queue to serve; repeat for several, highest priority first (default: $BROKKR_QUEUES)', collect)
    .option('--concurrency <n>', 'jobs in flight at once (default: the thread count)', integerArgument(1))
    .option('--threads <n>', 'worker threads (default: the number of CPUs)', integerArgument(1))
    .option('--timeout <duration>', 'hard limit per job unless it sets its own; 0 for none (default 3m)', durationArgument)
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://<host>:<port>/metrics', integerArgument(1, 65_535))
    .addHelpText(
      'after',
      `
Every BROKKR_* variable of .env.example applies too; flags win. The first SIGINT or SIGTERM
stops fetching and lets running jobs finish (up to BROKKR_SHUTDOWN_GRACE_MS, default 30 s);
a second one terminates them at once and puts them back. Exits 0 once shut down.`,
    )
    .action(runCommand<WorkerOptions>(worker));
}

async function worker(ctx: CommandContext, _args: string[], options: WorkerOptions): Promise<void> {
  const fromEnv = supervisorOptionsFromEnv();
  const queues = options.queue ?? fromEnv.queues ?? [];
  if (queues.length === 0) throw new UsageError('worker needs at least one --queue (or BROKKR_QUEUES)');
  const handlers = resolve(process.cwd(), options.handlers);
  if (!existsSync(handlers)) throw new UsageError(`the handlers module ${handlers} does not exist`);
  const threads = options.threads ?? fromEnv.threads ?? availableParallelism();
  const concurrency = options.concurrency ?? fromEnv.concurrency ?? threads;
  await ctx.connect();
  const log = createLogger(ctx.logLevel);
  const supervisor = new Supervisor({
    ...fromEnv,
    connection: ctx.target.connection,
    prefix: ctx.target.prefix,
    queues,
    handlers,
    threads,
    concurrency,
    ...(options.timeout !== undefined ? { defaultTimeoutMs: options.timeout } : {}),
    logger: log, // pino fits the library's Logger, (fields, message); the library logs every job event at debug
  });
  const shutdown = untilShutdown(supervisor, log);
  logEvents(supervisor, log, shutdown.started);
  // before start, so a port in use stops the worker before it takes any job
  const metrics = options.metricsPort !== undefined ? await startMetricsServer(options.metricsPort, supervisor) : null;
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.close({ graceMs: 0 });
    await metrics?.close();
    if (shutdown.started()) return; // a signal during start: the start gave way to the close
    throw err;
  }
  log.info(
    { queues, concurrency, threads, handlers, redis: ctx.target.display, prefix: ctx.target.prefix, metricsPort: metrics?.port },
    `worker started: ${queues.join(', ')} (concurrency ${concurrency}, ${threads} thread${threads === 1 ? '' : 's'}, pid ${process.pid})`,
  );
  await shutdown.done;
  await metrics?.close();
  log.info('worker stopped');
}

interface Shutdown {
  /** whether a shutdown signal has arrived */
  started: () => boolean;
  /** resolves once the supervisor has closed after a signal */
  done: Promise<void>;
}

/**
 * The signal handling itself is the library's (first signal warm, second cold); this only learns
 * when a shutdown begins and when the close is over.
 */
function untilShutdown(supervisor: Supervisor, log: CliLogger): Shutdown {
  let closing: Promise<void> | null = null;
  const done = new Promise<void>((resolveShutdown, reject) => {
    const detach = onShutdownSignals((cold) => {
      const closed = supervisor.close(cold ? { graceMs: 0 } : {});
      if (!closing) {
        closing = closed;
        closed.then(() => {
          detach();
          resolveShutdown();
        }, reject);
      }
      return closed;
    }, log);
  });
  return { started: () => closing !== null, done };
}

/** What needs a look (failures, outages) at info and above; the library itself logs every job event at debug. */
function logEvents(supervisor: Supervisor, log: CliLogger, shuttingDown: () => boolean): void {
  const job = (j: { id: string; queue: string; name: string; attempt: number }) => ({
    jobId: j.id,
    queue: j.queue,
    jobName: j.name, // not `name`: pino-pretty shows that as the logger's name
    attempt: j.attempt,
  });
  supervisor
    .on('failed', (e) => log.info({ ...job(e.job), error: e.error.message, code: e.error.code }, 'job failed'))
    .on('retrying', (e) => log.info({ ...job(e.job), error: e.error.message, delayMs: e.delayMs }, 'job failed, will retry'))
    .on('timeout', (e) => log.info({ ...job(e.job), timeoutMs: e.timeoutMs }, 'job timed out'))
    .on('canceled', (e) => log.info({ ...job(e.job), reason: e.reason }, 'job canceled'))
    .on('stalled', (e) => log.info({ ...job(e.job), stalls: e.stalls }, 'job put back after its lease expired elsewhere'))
    .on('dropped', (e) => log.warn({ ...job(e.job), reason: e.reason }, 'job outcome not written'))
    .on('broker:down', (e) => shuttingDown() || log.warn({ error: e.error }, 'Redis is unreachable; retrying'))
    .on('broker:up', (e) => log.info({ downtimeMs: e.downtimeMs }, 'Redis is back'))
    .on('error', (err) => log.error({ err }, err.message));
}
