import type { IncomingMessage } from 'node:http';
import { ErrorCodes, JobNotFoundError, JobStateError, ValidationError } from '../errors';
import type { Queue } from '../queue';
import type { DashboardData } from './data';
import { DashboardErrorCodes, DashboardHttpError } from './errors';
import type { LiveHub } from './live';
import { jobHref, type Links, queueHref } from './views';

/**
 * What the buttons do. Every action goes through the public Queue API, so the dashboard can do
 * nothing the library would refuse; each says in words what it did, and where the page goes next.
 */

export const JOB_ACTIONS = ['retry', 'cancel', 'remove'] as const;
export const QUEUE_ACTIONS = ['pause', 'resume', 'retry-failed', 'clean', 'limits'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];
export type QueueAction = (typeof QUEUE_ACTIONS)[number];

export interface ActionOutcome {
  message: string;
  /** where a browser without the client script is sent back to */
  redirect: string;
}

/** Longest form body read: the forms post a handful of short fields. */
const MAX_BODY_BYTES = 16 * 1024;

export async function jobAction(
  l: Links,
  data: DashboardData,
  hub: LiveHub,
  queueName: string,
  id: string,
  action: JobAction,
): Promise<ActionOutcome> {
  const queue = data.queue(queueName);
  const back = jobHref(l, queueName, id);
  switch (action) {
    case 'retry':
      await guard(() => queue.retry(id));
      // a retry writes no event to the queue's stream: the browsers watching hear it from here
      hub.notify(queueName, 'retried', [id]);
      return { message: `job ${id} is queued again`, redirect: back };
    case 'cancel': {
      const outcome = await guard(() => queue.cancel(id, 'canceled from the dashboard'));
      const message = outcome === 'canceled' ? `job ${id} canceled` : `job ${id} is running: its supervisor is stopping it`;
      return { message, redirect: back };
    }
    case 'remove': {
      if (!(await guard(() => queue.remove(id)))) throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, `job ${id} is already gone`);
      return { message: `job ${id} removed`, redirect: queueHref(l, queueName) };
    }
  }
}

export async function queueAction(
  l: Links,
  data: DashboardData,
  hub: LiveHub,
  queueName: string,
  action: QueueAction,
  form: URLSearchParams,
): Promise<ActionOutcome> {
  const queue = data.queue(queueName);
  const back = queueHref(l, queueName);
  switch (action) {
    case 'pause':
      await guard(() => queue.pause());
      return { message: `queue ${queueName} paused: no new job starts; running jobs finish`, redirect: back };
    case 'resume':
      await guard(() => queue.resume());
      return { message: `queue ${queueName} resumed`, redirect: back };
    case 'retry-failed': {
      const n = await guard(() => queue.retryAll({ status: 'failed' }));
      hub.notify(queueName, 'retried');
      return { message: `${n} failed job${n === 1 ? '' : 's'} queued again`, redirect: `${back}?status=queued` };
    }
    case 'clean': {
      const status = form.get('status');
      if (status !== 'completed' && status !== 'failed') throw badRequest('clean: status must be completed or failed');
      const olderThanMs = integerField(form, 'olderThanMs', 0) ?? 0;
      const n = await guard(() => queue.clean({ status, olderThanMs }));
      hub.notify(queueName, 'cleaned');
      return { message: `${n} ${status} job${n === 1 ? '' : 's'} deleted`, redirect: `${back}?status=${status}` };
    }
    case 'limits':
      await setLimits(queue, form);
      return { message: `limits of ${queueName} saved`, redirect: back };
  }
}

/** Empty fields remove a limit; a rate needs both of its numbers. */
async function setLimits(queue: Queue, form: URLSearchParams): Promise<void> {
  const concurrency = integerField(form, 'concurrency', 1);
  const rateMax = integerField(form, 'rateMax', 1);
  const rateMs = integerField(form, 'rateMs', 1);
  if ((rateMax === null) !== (rateMs === null)) throw badRequest('a rate limit needs both the number of jobs and the span in ms');
  await guard(() => (concurrency === null ? queue.removeConcurrency() : queue.setConcurrency(concurrency)));
  await guard(() =>
    rateMax === null || rateMs === null ? queue.removeRateLimit() : queue.setRateLimit({ max: rateMax, durationMs: rateMs }),
  );
}

function integerField(form: URLSearchParams, name: string, min: number): number | null {
  const raw = (form.get(name) ?? '').trim();
  if (raw === '') return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw badRequest(`${name} must be a whole number >= ${min}`);
  return n;
}

/** The library's refusals, as answers: a job in the wrong status is a conflict, an unknown one is not found. */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof JobStateError) throw new DashboardHttpError(DashboardErrorCodes.CONFLICT, err.message, { cause: err });
    if (err instanceof JobNotFoundError) throw new DashboardHttpError(DashboardErrorCodes.NOT_FOUND, err.message, { cause: err });
    if (err instanceof ValidationError || (err as { code?: string })?.code === ErrorCodes.VALIDATION) {
      throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, (err as Error).message, { cause: err });
    }
    throw err;
  }
}

function badRequest(message: string): DashboardHttpError {
  return new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, message);
}

/**
 * The posted form. A server that parsed it already (Express's urlencoded parser) leaves it on
 * `req.body` and the stream empty, so that is used when present.
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (typeof parsed === 'object' && parsed !== null && !Buffer.isBuffer(parsed)) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') form.set(k, v);
    return form;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw new DashboardHttpError(DashboardErrorCodes.BAD_REQUEST, 'actions take a form (application/x-www-form-urlencoded)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new DashboardHttpError(DashboardErrorCodes.TOO_LARGE, 'the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
