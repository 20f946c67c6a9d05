import type { LeaseRequest, NewJob, Write, WritePolicy } from '../broker';
import type { QueueKeys } from './keys';
import { storedOptionFields } from './records';

/** The keys and arguments of the two hot scripts, in the order their headers document. */

type Args = (string | number)[];

/** enqueue-12.lua for one chunk of jobs. */
export function enqueueArguments(k: QueueKeys, jobs: NewJob[], callToken: string): [string[], Args] {
  const keys: string[] = [...k.flow, k.delayed, k.guard];
  const args: Args = [...k.flowPrefixes, k.dedupePrefix, k.jobPrefix, callToken];
  for (const job of jobs) {
    keys.push(k.job(job.id));
    const optionArgs = storedOptionFields(job.opts);
    const d = job.dedupe;
    args.push(job.id, job.name, job.data, job.runAt ?? '', job.delayMs ?? '', job.chosenId ? '1' : '');
    args.push(d?.key ?? '', d?.mode ?? '', d?.ttlMs ?? '', optionArgs.length / 2, ...optionArgs);
  }
  return [keys, args];
}

/** turn-18.lua: writes, then a lease (none when `lease` is null). */
export function turnArguments(k: QueueKeys, queue: string, p: WritePolicy, writes: Write[], lease: LeaseRequest | null): [string[], Args] {
  const keys = [...k.flow, k.completed, k.failed, k.events, k.delayed, k.guard, k.retrying, k.canceled, k.canceling];
  const args: Args = [queue, k.jobPrefix, p.eventsMaxLen, p.eventDataMaxBytes, p.maxStalls];
  if (lease) args.push(lease.count, lease.owner, lease.tokenBase, lease.leaseMs);
  else args.push(0, '', '', 0);
  args.push(p.keepCompleted ?? -1, p.keepFailed ?? -1, ...k.flowPrefixes);
  for (const w of writes) {
    if (w.kind === 'complete') args.push(w.kind, w.id, w.token, w.result, w.ttlMs, '', '');
    else if (w.kind === 'fail') args.push(w.kind, w.id, w.token, w.error, w.ttlMs, w.retryInMs ?? '', '');
    else if (w.kind === 'cancel') args.push(w.kind, w.id, w.token, '', w.ttlMs, '', '');
    else args.push(w.kind, w.id, w.token, w.reason, w.ttlMs, w.mode, w.holdMs ?? '');
  }
  return [keys, args];
}
