import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, Option } from 'commander';
import { isLoopbackAddress } from '../dashboard/auth';
import { createDashboard } from '../dashboard/index';
import { checkToken, MIN_TOKEN_LENGTH } from '../dashboard/options';
import { collect, integerArgument } from './arguments';
import { type CommandContext, runCommand } from './context';
import { CommandFailedError, UsageError } from './errors';
import { printJson, printText } from './output';

interface DashboardFlags {
  port: number;
  host: string;
  queue?: string[];
  token?: string;
  readOnly?: boolean;
  basePath?: string;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the web dashboard: queues, jobs, supervisors, live; loopback only unless given a token')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free one)').default(7777).argParser(integerArgument(0, 65535)))
    .option('--host <address>', 'address to bind; anything but loopback needs --token', '127.0.0.1')
    .option('--queue <name>', 'a queue to show; repeat for several (default: every queue under the prefix)', collect)
    .addOption(
      new Option('--token <token>', `every page and API call must present it (at least ${MIN_TOKEN_LENGTH} characters)`).env(
        'BROKKR_DASHBOARD_TOKEN',
      ),
    )
    .option('--read-only', 'show no actions, and refuse them')
    .option('--base-path <path>', 'serve under this path (behind a proxy that passes it on)')
    .action(runCommand<DashboardFlags>(dashboard));
}

async function dashboard(ctx: CommandContext, _args: string[], flags: DashboardFlags): Promise<void> {
  const token = checkTokenFlag(flags.token);
  if (!isLoopbackBind(flags.host) && token === undefined) {
    throw new UsageError(
      `binding to ${flags.host} exposes the dashboard beyond this machine: give it a token with --token or BROKKR_DASHBOARD_TOKEN (for example $(openssl rand -hex 16))`,
    );
  }
  for (const name of flags.queue ?? []) await ctx.queue(name); // a bad name is reported before anything starts
  await ctx.connect();
  const handler = createDashboard({
    connection: ctx.target.connection,
    prefix: ctx.target.prefix,
    readOnly: flags.readOnly === true,
    ...(flags.queue?.length ? { queues: flags.queue } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(flags.basePath !== undefined ? { basePath: flags.basePath } : {}),
  });
  const server = createServer(handler);
  server.listen(flags.port, flags.host);
  try {
    await once(server, 'listening'); // rejects with the server's 'error' (EADDRINUSE, EACCES, EADDRNOTAVAIL)
  } catch (err) {
    await handler.close();
    throw new CommandFailedError(`cannot serve the dashboard on ${flags.host}:${flags.port} (${(err as Error).message})`);
  }
  const { port } = server.address() as AddressInfo;
  const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  const base = (flags.basePath ?? '').replace(/\/+$/, '');
  const url = `http://${host}:${port}${base}/`;
  if (ctx.json) printJson({ url, host: flags.host, port, readOnly: flags.readOnly === true, token: token !== undefined });
  else printText(`brokkr dashboard on ${url}${token !== undefined ? ' (open it with ?token=<your token> once)' : ''}`);
  process.stderr.write(`serving ${ctx.target.display} (prefix ${ctx.target.prefix}); Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  server.closeAllConnections(); // live streams never end by themselves
  await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), handler.close()]);
}

function checkTokenFlag(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    return checkToken(token) ?? undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** 127.0.0.0/8, ::1 and localhost stay on this machine; 0.0.0.0, :: and any other address do not. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host.replace(/^\[(.*)\]$/, '$1'));
}
