import { Command, Option } from 'commander';
import { VERSION } from '../version';
import { registerDashboardCommand } from './dashboard';
import { registerEnqueueCommand } from './enqueue';
import { registerInfoCommand } from './info';
import { registerObserveCommands } from './observe';
import { registerJobCommands } from './jobs';
import { registerManageCommands } from './manage';
import { registerScheduleCommands } from './schedules';
import { registerWorkerCommand } from './worker';

/**
 * The `brokkr` program: global options and every command. Usage errors are thrown as commander
 * errors (see main.ts) instead of exiting here, so the exit code is decided in one place.
 */
export function buildProgram(): Command {
  const program = new Command('brokkr')
    .description('Operate brokkr job queues: run workers, enqueue, inspect and manage jobs.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--redis <url>', 'Redis URL').env('REDIS_URL').default('redis://127.0.0.1:6379'))
    .option('--cluster', 'the Redis URL is a seed node of a Redis Cluster')
    .addOption(new Option('--prefix <prefix>', 'prefix of every Redis key').env('BROKKR_PREFIX').default('brokkr'))
    .option('--json', 'print one JSON document instead of a table')
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent').env('LOG_LEVEL').default('info'))
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      // one line, in the same form as the CLI's own errors
      outputError: (text, write) => write(`brokkr: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride()
    .showSuggestionAfterError(true);
  registerWorkerCommand(program);
  registerEnqueueCommand(program);
  registerJobCommands(program);
  registerManageCommands(program);
  registerScheduleCommands(program);
  registerInfoCommand(program);
  registerObserveCommands(program);
  registerDashboardCommand(program);
  return program;
}
