import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from '../../lib/queue';
import { Supervisor } from '../../lib/supervisor/supervisor';
import type { ConnectionOptions, QueueOptions, SupervisorOptions } from '../../lib/config';
import { Cluster, Redis } from 'ioredis';
import type { LogFields, Logger } from '../../lib/logger';

/** The broker the suite runs against: a Redis URL, or `{ cluster: [...] }` (see global-setup.ts). */
export function connection(): ConnectionOptions {
  const raw = process.env.BROKKR_TEST_CONNECTION;
  if (!raw) throw new Error('BROKKR_TEST_CONNECTION is not set: run the tests through jest (its global setup starts Redis)');
  return JSON.parse(raw) as ConnectionOptions;
}

export const onCluster = (): boolean => typeof connection() === 'object';

/** A plain ioredis client of the suite's broker, for looking at keys; disconnect it when done. */
export function adminClient(): Redis | Cluster {
  const c = connection();
  if (typeof c === 'string') return new Redis(c);
  return new Cluster((c as { cluster: { host: string; port: number }[] }).cluster);
}

/** The names of the connections open to the broker now (CLIENT LIST of every node). */
export async function connectionNames(): Promise<string[]> {
  const admin = adminClient();
  try {
    if (admin instanceof Cluster) await waitFor(() => admin.status === 'ready', 5_000, 'the admin cluster client');
    const nodes = admin instanceof Cluster ? admin.nodes('all') : [admin];
    const lists = await Promise.all(nodes.map((n) => n.client('LIST') as Promise<string>));
    return lists
      .flatMap((l) => l.split('\n'))
      .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
      .filter(Boolean);
  } finally {
    admin.disconnect();
  }
}

/** Every key whose name matches the pattern, on every master. */
export async function scanKeys(pattern: string): Promise<string[]> {
  const admin = adminClient();
  try {
    if (admin instanceof Cluster) await waitFor(() => admin.status === 'ready', 5_000, 'the admin cluster client');
    const nodes = admin instanceof Cluster ? admin.nodes('master') : [admin];
    const keys: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0');
    }
    return keys;
  } finally {
    admin.disconnect();
  }
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
export function memoryLogger(): Logger & { lines: string[]; fields: LogFields[] } {
  const lines: string[] = [];
  const fields: LogFields[] = [];
  const keep = (level: string) => (f: LogFields, m: string) => {
    lines.push(`${level} ${m}`);
    fields.push(f);
  };
  return { lines, fields, warn: keep('warn'), error: keep('error') };
}

/** Tracks queues and supervisors made by a test file and closes them after it. */
export class Harness {
  private readonly closers: (() => Promise<void>)[] = [];

  queue<D = unknown, R = unknown>(name: string, options: Omit<QueueOptions, 'connection'> = {}): Queue<D, R> {
    const q = new Queue<D, R>(name, { connection: connection(), ...options });
    this.closers.push(() => q.close());
    return q;
  }

  supervisor(options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'queues' | 'handlers'>): Supervisor {
    const s = new Supervisor({ connection: connection(), threads: 2, logger: memoryLogger(), ...options });
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
  /** default: the suite's broker */
  connection?: ConnectionOptions;
  queues: string[];
  handlers: Record<string, string>;
  options?: Record<string, unknown>;
}): ChildSupervisor {
  const args = JSON.stringify({ connection: connection(), ...config });
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'child-supervisor.ts'), args], {
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
