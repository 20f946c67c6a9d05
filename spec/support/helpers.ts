import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from '../../lib/queue';
import { Supervisor } from '../../lib/supervisor/supervisor';
import type { SupervisorOptions } from '../../lib/config';
import type { Logger } from '../../lib/logger';

export function redisUrl(): string {
  const url = process.env.BROKKR_TEST_REDIS_URL;
  if (!url) throw new Error('BROKKR_TEST_REDIS_URL is not set: run the tests through jest (its global setup starts Redis)');
  return url;
}

/** A queue name no other test uses, so tests never see each other's jobs. */
export function uniqueQueue(label = 'q'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

export function fixture(name: string): string {
  return join(__dirname, '..', 'fixtures', `${name}.ts`);
}

/** Polls a condition with a deadline; for state another process or thread changes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger that keeps what it is told, for tests that check what was logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };
}

/** Tracks queues and supervisors made by a test file and closes them after it. */
export class Harness {
  private readonly closers: (() => Promise<void>)[] = [];

  queue<D = unknown, R = unknown>(name: string, url = redisUrl()): Queue<D, R> {
    const q = new Queue<D, R>(name, { connection: url });
    this.closers.push(() => q.close());
    return q;
  }

  supervisor(options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'queues' | 'handlers'>): Supervisor {
    const s = new Supervisor({ connection: redisUrl(), threads: 2, logger: memoryLogger(), ...options });
    this.closers.push(() => s.close());
    return s;
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0);
    await Promise.all(closers.map((c) => c().catch(() => undefined)));
  }
}

export interface ChildSupervisor {
  child: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a supervisor in its own Node process (see child-supervisor.ts); `ready` resolves once it serves. */
export function spawnSupervisor(config: {
  url: string;
  queues: string[];
  handlers: Record<string, string>;
  options?: Record<string, unknown>;
}): ChildSupervisor {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'child-supervisor.ts'), JSON.stringify(config)], {
    cwd: join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line) lines.push(line);
      if (lines.includes('ready')) resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', () => reject(new Error(`child supervisor exited before it was ready: ${stderr}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, lines, ready, exited };
}
