import { AsyncLocalStorage } from 'node:async_hooks';
import { threadId, workerData } from 'node:worker_threads';
import {
  BrokkrError,
  CorruptJobError,
  ErrorCodes,
  HandlerLoadError,
  JobTimeoutError,
  serializeError,
  UnknownHandlerError,
} from '../errors';
import { findUnfaithfulJson } from '../json';
import {
  decodeBatch,
  encodeReport,
  type Hello,
  type OutcomeItems,
  type Report,
  type RunReply,
  type RunTask,
  type SessionTask,
  type ThreadData,
  type ToThread,
} from './protocol';

/** What a handler receives besides its data. */
export interface JobContext {
  id: string;
  name: string;
  queue: string;
  /** 1 for the first run; a run put back through no fault of its own keeps its number */
  attempt: number;
  /** Fires when the job's timeout passes; the thread is terminated a grace period later. */
  signal: AbortSignal;
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
const loading: Promise<Map<string, Handler>> = loadHandlers(config.handlers).then((map) => {
  loaded = map;
  return map;
});
loading.catch(() => undefined); // reported in the session's hello

/**
 * The session: this thread's whole working life, as one piscina task. It says hello once the
 * handler modules have loaded, then starts every job it is sent and reports outcomes (those
 * finished in the same turn of its event loop together), each report saying how many more jobs
 * it can start. Reports go out from setImmediate, so they only leave while the loop turns.
 */
export default function session(task: SessionTask): Promise<void> {
  const { port, capacity } = task;
  let seen = 0;
  let running = 0;
  let outbox: OutcomeItems = [];
  let scheduled = false;
  let lastWant = -1;
  let lastSeen = -1;

  const flush = () => {
    const want = capacity - running;
    if (outbox.length === 0 && want === lastWant && seen === lastSeen) return;
    lastWant = want;
    lastSeen = seen;
    const report: Report = { seen, want, outcomes: outbox };
    outbox = [];
    port.postMessage(encodeReport(report));
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush();
    });
  };

  return new Promise<void>((resolve) => {
    port.on('message', (raw: ToThread) => {
      if (typeof raw !== 'string') {
        port.close();
        resolve();
        return;
      }
      const message = decodeBatch(raw);
      // outcomes already in hand leave first: a job in this batch may keep the loop busy for long
      if (outbox.length > 0) flush();
      seen = message.seq;
      running += message.jobs.length;
      for (const job of message.jobs) {
        void run(job).then((reply) => {
          running--;
          outbox.push([job.runId, job.slot, reply]);
          schedule();
        });
      }
      schedule();
    });
    loading.then(
      (map) => {
        port.postMessage({ hello: true, threadId, names: [...map.keys()] } satisfies Hello);
        schedule();
      },
      (err: unknown) => port.postMessage({ hello: true, threadId, error: serializeError(err) } satisfies Hello),
    );
  });
}

async function run(task: RunTask): Promise<RunReply> {
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    task.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new JobTimeoutError(task.timeoutMs));
        }, task.timeoutMs)
      : undefined;
  try {
    const handler = (loaded ?? (await loading)).get(task.name);
    if (!handler) throw new UnknownHandlerError(task.name);
    const data = parseData(task);
    const ctx: JobContext = { id: task.id, name: task.name, queue: task.queue, attempt: task.attempt, signal: controller.signal };
    let fail!: (err: unknown) => void;
    const strayError = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    // marked started just before the handler runs: a job queued behind a blocked one never looks started
    startedAt[task.slot] = Date.now();
    Atomics.store(startedOn, task.slot, threadId);
    const value: unknown = await Promise.race([scopes.run({ slot: task.slot, fail }, async () => handler(data, ctx)), strayError]);
    if (timedOut) return { kind: 'timeout' };
    return { kind: 'completed', result: storable(value) };
  } catch (err) {
    return timedOut ? { kind: 'timeout' } : { kind: 'failed', error: serializeError(err) };
  } finally {
    clearTimeout(timer);
  }
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
