import type { Command, OptionValues } from 'commander';
import { checkQueueName } from '../config';
import { Queue } from '../queue';
import { probe, resolveTarget, type Target } from './connection';
import { describeFailure } from './errors';
import { resolveLogLevel } from './logging';

/** The options every command takes (declared on the program, so they may come before or after the command). */
export interface GlobalOptions {
  redis?: string;
  cluster?: boolean;
  prefix?: string;
  json?: boolean;
  logLevel?: string;
}

/**
 * A command's operations and Redis commands fail after this long without an answer, instead of
 * retrying for the library's 10 s: a person is waiting.
 */
const CLI_BROKER_WAIT_MS = 5_000;

/** What a command runs with: where Redis is, how to print, and the queues it opened (closed when it ends). */
export class CommandContext {
  private readonly queues = new Map<string, Queue>();
  private reached: Promise<void> | null = null;

  constructor(
    readonly target: Target,
    readonly json: boolean,
    /** for commands that log (worker); checked for every command, so a typo never goes unnoticed */
    readonly logLevel: string,
  ) {}

  /**
   * Checks once that Redis answers (see probe). Commands check their input first and connect
   * after, so a typo is reported as such even when Redis is away.
   */
  connect(): Promise<void> {
    this.reached ??= probe(this.target);
    return this.reached;
  }

  /** A Queue handle for `name`, once Redis answers (a bad name is a usage error: the library's ValidationError). */
  async queue(name: string): Promise<Queue> {
    checkQueueName(name);
    await this.connect();
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.target.connection, prefix: this.target.prefix, brokerWaitMs: CLI_BROKER_WAIT_MS });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}

/** `args` are commander's processed arguments: strings, or a string[] for a variadic one. */
export type CommandHandler<Options extends OptionValues, Args extends unknown[]> = (
  ctx: CommandContext,
  args: Args,
  options: Options,
  command: Command,
) => Promise<void>;

/**
 * Wraps a command's handler for commander: reads the global options, runs the handler, closes
 * what it opened, and turns any error into one line on stderr and an exit code (2 for bad input,
 * 1 for anything else). Apart from commander's own usage errors (main.ts), nothing else in the
 * CLI sets the exit code.
 */
export function runCommand<Options extends OptionValues = Record<string, never>, Args extends unknown[] = string[]>(
  handler: CommandHandler<Options, Args>,
): (...actionArgs: unknown[]) => Promise<void> {
  return async (...actionArgs) => {
    const command = actionArgs[actionArgs.length - 1] as Command;
    let ctx: CommandContext | null = null;
    try {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const target = resolveTarget(globals);
      const logLevel = resolveLogLevel(globals.logLevel);
      ctx = new CommandContext(target, globals.json === true, logLevel);
      await handler(ctx, command.processedArgs as Args, command.opts<Options>(), command);
    } catch (err) {
      const { line, exitCode } = describeFailure(err);
      process.stderr.write(`${line}\n`);
      process.exitCode = exitCode;
    } finally {
      await ctx?.close();
    }
  };
}
