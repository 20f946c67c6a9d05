import type { LeaseRequest, NewJob, Write, WritePolicy } from '../broker';
import { DEFAULT_FAILED_TTL_MS } from '../config';
import { depRef, type QueueKeys } from './keys';
import { storedOptionFields } from './records';

/** The keys and arguments of the two hot scripts, in the order their headers document. */

type Args = (string | number)[];

/** enqueue-17.lua for one chunk of jobs. */
export function enqueueArguments(k: QueueKeys, queue: string, p: WritePolicy, jobs: NewJob[], callToken: string): [string[], Args] {
  const keys: string[] = [...k.flow, k.delayed, k.guard, k.deferred, k.failed, k.canceled, k.events, k.handoff];
  const args: Args = [...k.flowPrefixes, k.dedupePrefix, k.jobPrefix, callToken, k.depsSuffix, k.dependentsSuffix, queue];
  args.push(p.eventsMaxLen, p.eventDataMaxBytes, DEFAULT_FAILED_TTL_MS);
  for (const job of jobs) {
    keys.push(k.job(job.id));
    const optionArgs = storedOptionFields(job.opts);
    const deps = (job.dependsOn ?? []).map((a) => depRef(a.queue, a.id));
    if (job.dependsOn) optionArgs.push('dependsOn', JSON.stringify(job.dependsOn));
    if (job.trace) optionArgs.push('trace', job.trace);
    const d = job.dedupe;
    args.push(job.id, job.name, job.data, job.runAt ?? '', job.delayMs ?? '', job.chosenId ? '1' : '');
    args.push(d?.key ?? '', d?.mode ?? '', d?.ttlMs ?? '', job.opts.onDependencyFailure ?? 'fail', deps.length, optionArgs.length / 2);
    args.push(...deps, ...optionArgs);
  }
  return [keys, args];
}

/** turn-19.lua: writes, then a lease (none when `lease` is null). */
export function turnArguments(k: QueueKeys, queue: string, p: WritePolicy, writes: Write[], lease: LeaseRequest | null): [string[], Args] {
  const keys = [...k.flow, k.completed, k.failed, k.events, k.delayed, k.guard, k.retrying, k.canceled, k.canceling, k.handoff];
  const args: Args = [queue, k.jobPrefix, p.eventsMaxLen, p.eventDataMaxBytes, p.maxStalls];
  if (lease) args.push(lease.count, lease.owner, lease.tokenBase, lease.leaseMs);
  else args.push(0, '', '', 0);
  args.push(p.keepCompleted ?? -1, p.keepFailed ?? -1, ...k.flowPrefixes, k.metricsPrefix);
  for (const w of writes) {
    if (w.kind === 'complete') args.push(w.kind, w.id, w.token, w.result, w.ttlMs, '', '');
    else if (w.kind === 'fail') args.push(w.kind, w.id, w.token, w.error, w.ttlMs, w.retryInMs ?? '', '');
    else if (w.kind === 'cancel') args.push(w.kind, w.id, w.token, '', w.ttlMs, '', '');
    else args.push(w.kind, w.id, w.token, w.reason, w.ttlMs, w.mode, w.holdMs ?? '');
  }
  return [keys, args];
}
