import type { Backoff } from '../backoff';
import type { DroppedId, LeasedJob, TurnResult, WriteResult } from '../broker';
import { BrokerError, type SerializedError } from '../errors';
import { LEASE_REPLIES, type LeaseReply, WRITE_REPLIES, type WriteReply } from '../states';

/**
 * The one place script replies are read: positional Lua arrays become named, typed results, and
 * a reply name this version does not know is a BrokerError rather than a silent misreading.
 */

const WRITE_WIDTH = 6;
/** must match LEASE_WIDTH in lua/includes/lease.lua */
const LEASE_WIDTH = 18;
/** the turn's flow value (see turn-19.lua) */
const PAUSED = 1;
const LIMITED = 2;

type Flat = (string | number)[];

export function decodeTurn(reply: unknown): TurnResult {
  const [now, written, leases, nextDue, flow, handedOff] = reply as [number, Flat, Flat, string | number, number, number];
  const result: TurnResult = {
    now: Number(now),
    written: decodeWrites(written),
    leased: [],
    dropped: [],
    nextDueAt: nextDue === '' || nextDue === undefined ? null : Number(nextDue),
    paused: flow === PAUSED,
    limited: flow === LIMITED,
    handoff: Number(handedOff) === 1,
  };
  decodeLeases(leases, result.leased, result.dropped);
  return result;
}

function decodeWrites(flat: Flat): WriteResult[] {
  const out: WriteResult[] = [];
  for (let i = 0; i < flat.length; i += WRITE_WIDTH) {
    const write: WriteResult = {
      state: named(flat[i], WRITE_REPLIES, 'write'),
      stalls: Number(flat[i + 1]),
      attempts: Number(flat[i + 2]),
      name: String(flat[i + 3]),
    };
    const error = String(flat[i + 4] ?? '');
    if (error !== '') write.error = JSON.parse(error) as SerializedError;
    if (flat[i + 5] !== '' && flat[i + 5] !== undefined) write.nextRunAt = Number(flat[i + 5]);
    out.push(write);
  }
  return out;
}

function decodeLeases(flat: Flat, leased: LeasedJob[], dropped: DroppedId[]): void {
  for (let i = 0; i < flat.length; i += LEASE_WIDTH) {
    const id = String(flat[i]);
    const state = named(flat[i + 1], LEASE_REPLIES, 'lease');
    if (state !== 'leased') {
      dropped.push(state === 'skipped' ? { id, reason: state, status: String(flat[i + 2]) } : { id, reason: state });
      continue;
    }
    const job: LeasedJob = {
      id,
      token: String(flat[i + 2]),
      name: String(flat[i + 3]),
      data: String(flat[i + 4]),
      attempt: Number(flat[i + 5]),
      createdAt: Number(flat[i + 7]),
      priority: Number(flat[i + 14] ?? 0) || 0,
    };
    setNumber(job, 'timeoutMs', flat[i + 6]);
    setNumber(job, 'resultTtlMs', flat[i + 8]);
    setNumber(job, 'failedTtlMs', flat[i + 9]);
    setNumber(job, 'maxAttempts', flat[i + 10]);
    const backoff = String(flat[i + 11] ?? '');
    // checked at enqueue: a backoff damaged by hand since is left out (the job then retries at once)
    if (backoff !== '') job.backoff = parseBackoff(backoff);
    const schedule = String(flat[i + 12] ?? '');
    if (schedule !== '') job.schedule = schedule;
    job.failedTries = Number(flat[i + 13] ?? 0) || 0;
    const group = String(flat[i + 15] ?? '');
    if (group !== '') job.group = group;
    const deps = String(flat[i + 16] ?? '');
    if (deps !== '') job.dependencies = deps;
    const trace = String(flat[i + 17] ?? '');
    if (trace !== '') job.trace = trace;
    leased.push(job);
  }
}

function parseBackoff(json: string): Backoff | undefined {
  try {
    return JSON.parse(json) as Backoff;
  } catch {
    return undefined;
  }
}

function setNumber(
  job: LeasedJob,
  field: 'timeoutMs' | 'resultTtlMs' | 'failedTtlMs' | 'maxAttempts',
  value: string | number | undefined,
): void {
  if (value !== '' && value !== undefined) job[field] = Number(value);
}

function named<T extends WriteReply | LeaseReply>(value: unknown, names: readonly T[], what: string): T {
  if (names.includes(value as T)) return value as T;
  throw new BrokerError(`unexpected ${what} reply from a script: ${JSON.stringify(value)}`);
}
