import { threadId } from 'node:worker_threads';
import { serializeError } from '../errors';
import {
  decodeBatch,
  encodeReport,
  type Hello,
  type OutcomeItems,
  type RunTask,
  STARTED,
  type SessionTask,
  type ToThread,
} from './protocol';
import { cancelRun, loading, run, shared } from './runner';
import { RunNotesOut } from './run-notes';

/**
 * The session: this thread's whole working life, as one piscina task (see protocol.ts). It says
 * hello once the handler modules have loaded; then it queues the jobs it is sent, runs up to its
 * cap of them at once, starts the next queued one as soon as one ends, and reports outcomes
 * (those finished in the same turn of its event loop together), each report saying how many
 * more jobs it can take.
 */
export function session(task: SessionTask): Promise<void> {
  const { port, seat } = task;
  const { claim, caps, depths } = shared;
  let seen = 0;
  let running = 0;
  let queue: RunTask[] = [];
  let outbox: OutcomeItems = [];
  let scheduled = false;
  let lastWant = -1;
  let lastSeen = -1;
  const notes = new RunNotesOut((n) => port.postMessage(n));

  /** Starts queued jobs while under the cap; a job taken back by the supervisor is skipped. */
  const pump = () => {
    const cap = Atomics.load(caps, seat);
    while (running < cap && queue.length > 0) {
      const job = queue.shift()!;
      if (Atomics.compareExchange(claim, job.slot, job.runId, STARTED) !== job.runId) continue;
      running++;
      void run(job, notes).then((reply) => {
        running--;
        outbox.push([job.runId, job.slot, reply]);
        pump();
        schedule();
      });
    }
  };

  const flush = () => {
    queue = queue.filter((job) => Atomics.load(claim, job.slot) === job.runId);
    const cap = Atomics.load(caps, seat);
    const want = cap > 0 ? Math.max(0, cap + Atomics.load(depths, seat) - running - queue.length) : 0;
    const idle = Math.max(0, cap - running);
    if (outbox.length === 0 && want === lastWant && seen === lastSeen) return;
    lastWant = want;
    lastSeen = seen;
    const report = encodeReport({ seen, want, idle, outcomes: outbox });
    outbox = [];
    port.postMessage(report);
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush();
    });
  };

  // the session ends only when its thread does (the pool terminates it)
  return new Promise<void>(() => {
    port.on('message', (raw: ToThread) => {
      if (typeof raw !== 'string') {
        if ('cancel' in raw) cancelRun(raw.slot, raw.runId, raw.reason);
        else schedule(); // a poke: cap or depth changed
        return;
      }
      const batch = decodeBatch(raw);
      // outcomes already in hand leave first: a job in this batch may keep the loop busy for long
      if (outbox.length > 0) flush();
      seen = batch.seq;
      for (const job of batch.jobs) queue.push(job);
      pump();
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
