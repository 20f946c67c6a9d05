import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from '../../lib';
import { startEphemeralRedis } from '../../scripts/ephemeral-redis';
import { decodeStreamEvent } from '../../lib/event-codec';
import { queueKeys } from '../../lib/redis/keys';

export type FaultKind = 'kill-supervisor' | 'restart-redis' | 'stall-redis';

export interface ChaosOptions {
  jobs: number;
  /** how long producers take to enqueue them; the faults are spread over this time */
  durationMs: number;
  faults: FaultKind[];
  supervisors: number;
  /** how long, after the last fault and enqueue, every accepted job has to reach a final state */
  settleMs: number;
  leaseMs: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  accepted: number;
  refused: number;
  completed: number;
  failed: number;
  executedZero: number;
  executedMoreThanOnce: number;
  nonFinal: number;
  recordsMissing: number;
  finalEventsNotOne: number;
  faults: { kind: FaultKind; recoveryMs: number | null }[];
  elapsedMs: number;
}

/** The figures that must be 0 for a run to pass. */
export function violations(r: ChaosReport): string[] {
  const out: string[] = [];
  if (r.executedZero > 0) out.push(`${r.executedZero} accepted jobs never executed`);
  if (r.nonFinal > 0) out.push(`${r.nonFinal} accepted jobs left in a non-final state`);
  if (r.recordsMissing > 0) out.push(`${r.recordsMissing} accepted jobs have no record`);
  if (r.finalEventsNotOne > 0) out.push(`${r.finalEventsNotOne} jobs with other than one final event`);
  if (r.faults.some((f) => f.recoveryMs === null)) out.push('a fault was never followed by a completed job');
  return out;
}

/**
 * Runs supervisors in their own processes against a Redis with AOF while producers enqueue, and
 * injects real faults: supervisors killed with SIGKILL (a replacement started each time), Redis
 * killed and restarted on the same port and data dir, Redis stalled with SIGSTOP / SIGCONT.
 * Every execution is written to a file outside Redis, so lost and repeated jobs show.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const redis = await startEphemeralRedis({ appendOnly: true });
  const dir = mkdtempSync(join(tmpdir(), 'brokkr-chaos-'));
  const queueName = `chaos-${Date.now().toString(36)}`;
  const workers: ChildProcess[] = [];
  const spawnWorker = () => {
    const child = startWorker(redis.url, queueName, o.leaseMs, o.log !== undefined);
    workers.push(child);
    return child;
  };
  try {
    for (let i = 0; i < o.supervisors; i++) spawnWorker();
    const producer = new Queue(queueName, { connection: redis.url, brokerWaitMs: 60_000, retryMaxDelayMs: 300, commandTimeoutMs: 1_500 });
    const accepted: string[] = [];
    let refused = 0;
    const faults: { kind: FaultKind; at: number }[] = [];

    const produce = async () => {
      const batch = 25;
      const pause = o.durationMs / Math.ceil(o.jobs / batch);
      for (let sent = 0; sent < o.jobs; sent += batch) {
        const n = Math.min(batch, o.jobs - sent);
        try {
          const refs = await producer.enqueueBulk(
            Array.from({ length: n }, () => ({ name: 'record', data: { dir, ms: 2 + Math.floor(Math.random() * 8) } })),
          );
          accepted.push(...refs.map((r) => r.id));
        } catch {
          refused += n;
        }
        await sleep(pause);
      }
    };
    const inject = async () => {
      const gap = o.durationMs / (o.faults.length + 1);
      for (const kind of o.faults) {
        await sleep(gap);
        faults.push({ kind, at: Date.now() });
        log(`fault: ${kind}`);
        if (kind === 'kill-supervisor') {
          const live = workers.filter((w) => w.exitCode === null && w.signalCode === null);
          const victim = live[Math.floor(Math.random() * live.length)];
          victim?.kill('SIGKILL');
          spawnWorker();
        } else if (kind === 'restart-redis') {
          redis.signal('SIGKILL');
          await sleep(1_000);
          await redis.restart();
        } else {
          redis.signal('SIGSTOP');
          await sleep(2_500);
          redis.signal('SIGCONT');
        }
      }
    };
    await Promise.all([produce(), inject()]);
    log(`enqueue done: ${accepted.length} accepted, ${refused} refused; waiting for final states`);

    const admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    const keys = queueKeys('brokkr', queueName);
    const statuses = async () => {
      const pipeline = admin.pipeline();
      for (const id of accepted) pipeline.hget(keys.job(id), 'status');
      return ((await pipeline.exec()) ?? []).map(([, v]) => v as string | null);
    };
    const deadline = Date.now() + o.settleMs;
    let current = await statuses();
    while (current.some((s) => s !== 'completed' && s !== 'failed') && Date.now() < deadline) {
      await sleep(500);
      current = await statuses();
    }

    const executions = new Map<string, number>();
    for (const file of readdirSync(dir)) {
      for (const id of readFileSync(join(dir, file), 'utf8').split('\n')) if (id) executions.set(id, (executions.get(id) ?? 0) + 1);
    }
    const finalEvents = new Map<string, number>();
    const completions: number[] = [];
    for (const [id, flat] of await admin.xrange(keys.events, '-', '+')) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      const event = decodeStreamEvent(fields);
      if (event?.type === 'completed' || event?.type === 'failed') finalEvents.set(event.jobId, (finalEvents.get(event.jobId) ?? 0) + 1);
      if (event?.type === 'completed') completions.push(Number(id.split('-')[0]));
    }
    await admin.quit();
    await producer.close();

    const count = (status: string) => current.filter((s) => s === status).length;
    return {
      accepted: accepted.length,
      refused,
      completed: count('completed'),
      failed: count('failed'),
      executedZero: accepted.filter((id) => !executions.has(id)).length,
      executedMoreThanOnce: accepted.filter((id) => (executions.get(id) ?? 0) > 1).length,
      nonFinal: current.filter((s) => s !== null && s !== 'completed' && s !== 'failed').length,
      recordsMissing: current.filter((s) => s === null).length,
      finalEventsNotOne: accepted.filter((id) => finalEvents.get(id) !== 1).length,
      faults: faults.map((f) => {
        const next = completions.filter((t) => t > f.at).sort((a, b) => a - b)[0];
        return { kind: f.kind, recoveryMs: next === undefined ? null : next - f.at };
      }),
      elapsedMs: Date.now() - started,
    };
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatReport(r: ChaosReport): string {
  const rows: [string, string][] = [
    ['jobs accepted', String(r.accepted)],
    ['enqueues refused (BrokerUnavailableError, not accepted)', String(r.refused)],
    ['completed', String(r.completed)],
    ['failed', String(r.failed)],
    ['executed 0 times (must be 0)', String(r.executedZero)],
    ['executed more than once (allowed)', String(r.executedMoreThanOnce)],
    ['left in a non-final state (must be 0)', String(r.nonFinal)],
    ['records missing (must be 0)', String(r.recordsMissing)],
    ['final state recorded other than once (must be 0)', String(r.finalEventsNotOne)],
  ];
  const byKind = new Map<FaultKind, number[]>();
  for (const f of r.faults) {
    const list = byKind.get(f.kind) ?? [];
    if (f.recoveryMs !== null) list.push(f.recoveryMs);
    byKind.set(f.kind, list);
  }
  for (const [kind, times] of byKind) {
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
    const count = r.faults.filter((f) => f.kind === kind).length;
    rows.push([`recovery after ${kind} x${count}: median / max ms`, sorted.length ? `${median} / ${sorted[sorted.length - 1]}` : 'never']);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['| figure | value |', '|---|---:|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n');
}

function startWorker(url: string, queue: string, leaseMs: number, showErrors: boolean): ChildProcess {
  const compiled = join(__dirname, 'worker.js');
  const fromSource = !existsSync(compiled);
  const handler = join(__dirname, '..', 'handlers', fromSource ? 'record.ts' : 'record.js');
  const args = fromSource ? ['--import', 'tsx', join(__dirname, 'worker.ts')] : [compiled];
  return spawn(process.execPath, [...args, JSON.stringify({ url, queue, handler, leaseMs })], {
    stdio: ['ignore', 'ignore', showErrors ? 'inherit' : 'ignore'],
    ...(fromSource ? { cwd: join(__dirname, '..', '..') } : {}),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
