import { AsyncLocalStorage } from 'node:async_hooks';
import { threadId, workerData } from 'node:worker_threads';
import {
  BrokkrError,
  CorruptJobError,
  ErrorCodes,
  HandlerLoadError,
  JobCanceledError,
  JobTimeoutError,
  RateLimitError,
  serializeError,
  UnknownHandlerError,
  ValidationError,
} from '../errors';
import { findUnfaithfulJson } from '../json';
import type { RunReply, RunTask, ThreadData } from './protocol';
import type { RunNotesOut } from './run-notes';
import type { DependencyOutcome } from '../dependencies';

/** What a handler receives besides its data. */
export interface JobContext {
  id: string;
  name: string;
  queue: string;
  /** 1 for the first run; a run put back through no fault of its own keeps its number */
  attempt: number;
  /**
   * Fires when the job's timeout passes (reason: JobTimeoutError) or the job is canceled
   * (queue.cancel; reason: JobCanceledError); the thread is terminated a grace period later.
   */
  signal: AbortSignal;
  /**
   * The upstream said "too many requests": ends the handler (throws RateLimitError), puts this job
   * back to queued without charging an attempt, and holds the whole queue for `ms` across every
   * supervisor.
   */
  rateLimit(ms: number): never;
  /**
   * Reports progress: any JSON value (a number, { done, total }, ...). Returns at once; the last
   * value of each moment is written to the job's record (getJob's `progress`) and emitted as a
   * `progress` event. Calls after the handler returned are ignored.
   */
  progress(value: unknown): void;
  /** Appends a line to the job's log (queue.getLogs); returns at once, written like progress. */
  log(line: string): void;
  /**
   * What became of the jobs it depended on (dependsOn), keyed by job id: a completed one's result,
   * or a failed or canceled one's error (onDependencyFailure 'ignore'). {} without dependsOn.
   */
  dependencies(): Promise<Record<string, DependencyOutcome>>;
}

export type Handler<Data = unknown, Result = unknown> = (data: Data, ctx: JobContext) => Result | Promise<Result>;

const config = workerData as ThreadData;
const startedOn = new Int32Array(config.startedOn);
const startedAt = new Float64Array(config.startedAt);
const exitedBy = new Int32Array(config.exitedBy);

/** Which run a callback belongs to: timers and promises made by a handler carry its scope. */
interface RunScope {
  slot: number;
  fail(err: unknown): void;
}
const scopes = new AsyncLocalStorage<RunScope>();

// process.exit() from a handler still ends the thread, but first names the run that called it.
const realExit = process.exit.bind(process);
process.exit = function exit(code?: number | string | null): never {
  const scope = scopes.getStore();
  if (scope) Atomics.store(exitedBy, scope.slot, (Number(code ?? 0) || 0) + 1);
  return realExit(code);
} as typeof process.exit;

// An error thrown from a handler's timer, or a rejection it left unhandled, fails that handler's
// job and leaves the thread running for the others. One no job can be blamed for ends the thread.
function onStrayError(err: unknown): void {
  const scope = scopes.getStore();
  if (scope) scope.fail(err);
  else realExit(1);
}
process.on('uncaughtException', onStrayError);
process.on('unhandledRejection', onStrayError);

// Loaded as the thread starts, so the first job does not wait for its module.
let loaded: Map<string, Handler> | null = null;
export const loading: Promise<Map<string, Handler>> = loadHandlers(config.handlers).then((map) => {
  loaded = map;
  return map;
});
loading.catch(() => undefined); // reported in the session's hello

/** Shared with the supervisor: see ThreadData. */
export const shared = {
  claim: new Int32Array(config.claim),
  caps: new Int32Array(config.caps),
  depths: new Int32Array(config.depths),
};

/**
 * The running jobs' timeouts, on one timer armed for the earliest: most jobs share a timeout, so
 * a new job rarely moves it, and a job that ends only leaves the map.
 */
const deadlines = new Map<number, { at: number; fire: () => void }>();
let deadlineTimer: NodeJS.Timeout | null = null;
let deadlineTimerAt = Number.POSITIVE_INFINITY;

function watchDeadline(slot: number, at: number, fire: () => void): void {
  deadlines.set(slot, { at, fire });
  if (at < deadlineTimerAt) armDeadlineTimer(at);
}

function armDeadlineTimer(at: number): void {
  if (deadlineTimer) clearTimeout(deadlineTimer);
  deadlineTimerAt = at;
  deadlineTimer = setTimeout(onDeadlineTimer, Math.max(0, at - Date.now()));
}

function onDeadlineTimer(): void {
  deadlineTimer = null;
  deadlineTimerAt = Number.POSITIVE_INFINITY;
  const now = Date.now();
  let next = Number.POSITIVE_INFINITY;
  for (const [slot, d] of deadlines) {
    if (d.at <= now) {
      deadlines.delete(slot);
      d.fire();
    } else if (d.at < next) {
      next = d.at;
    }
  }
  if (next < Number.POSITIVE_INFINITY) armDeadlineTimer(next);
}

/** How to abort each running job's signal, by slot: a cancellation names the run it is for. */
const aborters = new Map<number, { runId: number; abort(err: Error): void }>();

/** The job of a running run was canceled: its signal is aborted (a run that has ended is left alone). */
export function cancelRun(slot: number, runId: number, reason: string): void {
  const aborter = aborters.get(slot);
  if (aborter?.runId === runId) aborter.abort(new JobCanceledError(reason));
}

/** Runs one job to its end; never rejects. */
export function run(task: RunTask, notes: RunNotesOut): Promise<RunReply> {
  if (!loaded)
    return loading.then(
      () => run(task, notes),
      (err: unknown) => ({ kind: 'failed', error: serializeError(err) }) as RunReply,
    );
  const handlers = loaded;
  return new Promise<RunReply>((resolve) => {
    // the AbortController is made only for handlers that look at ctx.signal
    let controller: AbortController | null = null;
    /** why the signal fired (a timeout or a cancellation), before the handler looked at it perhaps */
    let aborted: Error | null = null;
    let timedOut = false;
    let settled = false;
    let holdMs: number | null = null;
    const settle = (reply: RunReply) => {
      if (settled) return;
      settled = true;
      deadlines.delete(task.slot);
      aborters.delete(task.slot);
      notes.flush(task.slot);
      if (timedOut) resolve({ kind: 'timeout' });
      else resolve(holdMs !== null ? { kind: 'rate-limited', holdMs } : reply);
    };
    const fail = (err: unknown) => settle({ kind: 'failed', error: serializeError(err) });
    const complete = (value: unknown) => {
      try {
        settle({ kind: 'completed', result: storable(value) });
      } catch (err) {
        fail(err);
      }
    };
    const handler = handlers.get(task.name);
    if (!handler) return fail(new UnknownHandlerError(task.name));
    let data: unknown;
    try {
      data = parseData(task);
    } catch (err) {
      return fail(err);
    }
    const ctx: JobContext = {
      id: task.id,
      name: task.name,
      queue: task.queue,
      attempt: task.attempt,
      get signal() {
        if (!controller) {
          controller = new AbortController();
          if (aborted) controller.abort(aborted);
        }
        return controller.signal;
      },
      rateLimit(ms: number): never {
        if (!Number.isSafeInteger(ms) || ms < 1) {
          throw new ValidationError(`ctx.rateLimit(ms) needs an integer number of ms >= 1, got ${JSON.stringify(ms) ?? String(ms)}`);
        }
        holdMs = Math.max(holdMs ?? 0, ms);
        throw new RateLimitError(ms);
      },
      progress(value: unknown): void {
        if (!settled) notes.progress(task.slot, task.runId, value);
      },
      log(line: string): void {
        if (!settled) notes.log(task.slot, task.runId, line);
      },
      dependencies: async () => {
        const list = task.dependencies === '' ? [] : (JSON.parse(task.dependencies) as DependencyOutcome[]);
        return Object.fromEntries(list.map((outcome) => [outcome.id, outcome]));
      },
    };
    if (task.timeoutMs > 0) {
      watchDeadline(task.slot, Date.now() + task.timeoutMs, () => {
        timedOut = true;
        abort(new JobTimeoutError(task.timeoutMs));
      });
    }
    const abort = (err: Error) => {
      aborted ??= err;
      controller?.abort(err);
    };
    aborters.set(task.slot, { runId: task.runId, abort });
    // marked started just before the handler runs: a job queued behind a blocked one never looks started
    startedAt[task.slot] = Date.now();
    Atomics.store(startedOn, task.slot, threadId);
    let value: unknown;
    try {
      // callbacks the handler schedules carry this scope: a stray error there fails this job
      value = scopes.run({ slot: task.slot, fail }, () => handler(data, ctx));
    } catch (err) {
      return fail(err);
    }
    if (isThenable(value)) value.then(complete, fail);
    else complete(value);
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function storable(value: unknown): string {
  const stored = value === undefined ? null : value;
  const problem = findUnfaithfulJson(stored, 'result');
  if (problem) throw new BrokkrError(ErrorCodes.RESULT_NOT_STORABLE, `the handler's result cannot be stored as JSON: ${problem}`);
  const json = JSON.stringify(stored);
  const bytes = Buffer.byteLength(json);
  if (bytes > config.maxResultBytes) {
    throw new BrokkrError(
      ErrorCodes.RESULT_NOT_STORABLE,
      `the handler's result is ${bytes} bytes as JSON, over the limit of ${config.maxResultBytes} (maxResultBytes)`,
    );
  }
  return json;
}

function parseData(task: RunTask): unknown {
  try {
    return JSON.parse(task.data);
  } catch {
    throw new CorruptJobError(`job ${task.id} has data that is not valid JSON`);
  }
}

async function loadHandlers(spec: ThreadData['handlers']): Promise<Map<string, Handler>> {
  const out = new Map<string, Handler>();
  if (typeof spec === 'string') {
    const mod = await importModule(spec);
    for (const [name, value] of Object.entries(namedExports(mod))) {
      if (typeof value === 'function' && name !== 'default') out.set(name, value as Handler);
    }
    if (out.size === 0) throw new HandlerLoadError(`handler module ${spec} exports no functions`);
    return out;
  }
  await Promise.all(
    Object.entries(spec).map(async ([name, href]) => {
      const fn = defaultExport(await importModule(href));
      if (typeof fn !== 'function') {
        throw new HandlerLoadError(`handler module ${href} (for job name "${name}") has no default export function`);
      }
      out.set(name, fn as Handler);
    }),
  );
  return out;
}

async function importModule(href: string): Promise<Record<string, unknown>> {
  try {
    return (await import(href)) as Record<string, unknown>;
  } catch (err) {
    throw new HandlerLoadError(`cannot load handler module ${href}: ${(err as Error)?.message ?? String(err)}`, err);
  }
}

/** A CommonJS module compiled from `export default` arrives as { default: { default: fn } }. */
function defaultExport(mod: Record<string, unknown>): unknown {
  const d = mod.default;
  if (typeof d === 'function') return d;
  if (typeof d === 'object' && d !== null && typeof (d as { default?: unknown }).default === 'function') {
    return (d as { default: unknown }).default;
  }
  return undefined;
}

function namedExports(mod: Record<string, unknown>): Record<string, unknown> {
  const d = mod.default;
  // CommonJS: every export also sits on module.exports, which import() hands over as `default`
  return typeof d === 'object' && d !== null ? { ...(d as Record<string, unknown>), ...mod } : mod;
}
