import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway redis-server on a free loopback port, for the demo, the tests and the benchmarks.
 * Not part of the library's API: production points brokkr at a Redis it manages itself.
 */
export interface EphemeralRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Starts the server again on the same port and data dir (after a kill or stop). */
  restart(): Promise<void>;
  /** Sends a signal to the server (SIGKILL, SIGSTOP, SIGCONT, ...). */
  signal(sig: NodeJS.Signals): void;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

export interface EphemeralRedisOptions {
  /** Listen here (a free port is found otherwise). */
  port?: number;
  /** Writes a config file into the server's data dir and returns its path (Sentinel needs one). */
  configFile?: (dir: string) => string;
  /** Turn on the append-only file (fsync every write), so a killed server restarts with its data. */
  appendOnly?: boolean;
  /** Extra `--name value` arguments. */
  args?: string[];
}

const INSTALL_HINT =
  'redis-server was not found: install it (Debian/Ubuntu: sudo apt-get install -y redis-server) or set REDIS_URL to a running Redis';

/** Finds redis-server; as root on Debian, installs it with apt-get when missing. */
export function ensureRedisServer(log: (line: string) => void = () => undefined): string {
  const found = which('redis-server');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && which('apt-get')) {
    log("redis-server is missing: installing Debian's redis-server with apt-get (once)...");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env });
    const installed = which('redis-server');
    if (install.status === 0 && installed) return installed;
  }
  throw new Error(INSTALL_HINT);
}

export async function startEphemeralRedis(options: EphemeralRedisOptions = {}): Promise<EphemeralRedis> {
  const binary = ensureRedisServer((line) => process.stderr.write(`${line}\n`));
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'brokkr-redis-'));
  const args = [
    ...(options.configFile ? [options.configFile(dir)] : []),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...(options.args ?? []),
  ];
  let child = await launch(binary, args, port);
  const handle: EphemeralRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get process() {
      return child;
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      child = await launch(binary, args, port);
    },
    signal(sig) {
      child.kill(sig);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start (code ${child.exitCode}): ${stderr.trim()}`);
    if (await answersPing(port)) {
      // the server must not keep its parent alive: stop() ends it, and a crashed parent's leftovers are throwaway
      child.unref();
      (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
      return child;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 10 s: ${stderr.trim()}`);
}

/** A raw PING over a socket, so this helper needs no Redis client. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for the server to exit, holding the event loop open meanwhile (the child is unref'd). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status === 0 && path) return path;
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    const candidate = join(dir, cmd);
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate;
  }
  return null;
}
