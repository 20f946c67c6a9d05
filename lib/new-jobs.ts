import type { Broker, NewJob } from './broker';
import { checkQueueName } from './config';
import { addresses, unknownDependency } from './dependencies';
import { ValidationError } from './errors';
import { uuidv7 } from './id';
import type { JobOptions } from './job';
import { checkJobOptions } from './job-options';
import { findUnfaithfulJson } from './json';
import { depRef } from './redis/keys';

/** What a caller hands to enqueueBulk. */
export interface BulkJob<Data = unknown> {
  name: string;
  data: Data;
  opts?: JobOptions;
}

export interface PrepareSettings {
  queue: string;
  maxPayloadBytes: number;
  defaults: JobOptions;
}

/** A job checked and made ready to write: its id made (or the jobId option), data as JSON, options checked. */
export function prepareJob(job: BulkJob, where: string, s: PrepareSettings): NewJob {
  if (typeof job !== 'object' || job === null) throw new ValidationError(`${where}each job must be an object { name, data, opts? }`);
  const { name, data, opts = {} } = job;
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(`${where}job name must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}`);
  }
  const problem = findUnfaithfulJson(data, 'data');
  if (problem) throw new ValidationError(`${where}job data cannot be stored as JSON: ${problem}`);
  const json = JSON.stringify(data);
  const bytes = Buffer.byteLength(json);
  if (bytes > s.maxPayloadBytes) {
    throw new ValidationError(`${where}job data is ${bytes} bytes as JSON, over the limit of ${s.maxPayloadBytes} (maxPayloadBytes)`);
  }
  const { jobId, dependsOn, ...checked } = checkJobOptions(withDefaults(opts, s.defaults), where);
  const made: NewJob = { id: jobId ?? uuidv7(), chosenId: jobId !== undefined, name, data: json, ...checked };
  if (dependsOn) {
    for (const ref of dependsOn) if (typeof ref !== 'string') checkQueueName(ref.queue, `${where}dependsOn queue`);
    made.dependsOn = addresses(dependsOn, s.queue);
  }
  return made;
}

/** The job's own options over the queue's defaults; a job that sets when it runs drops the default's timing. */
function withDefaults(opts: JobOptions, defaults: JobOptions): JobOptions {
  if (typeof opts !== 'object' || opts === null) return opts;
  const merged = { ...defaults };
  if (opts.delayMs !== undefined || opts.runAt !== undefined) {
    delete merged.delayMs;
    delete merged.runAt;
  }
  return { ...merged, ...opts };
}

type Reachable = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/**
 * Before jobs are written: every dependency outside the call must exist, and those of other
 * queues are linked to their dependents first (dep-link-3.lua), so that an outcome that comes
 * between the link and the enqueue is kept for the dependent (deps.lua deliverDep), never lost.
 */
export async function linkDependencies(broker: Broker, queue: string, jobs: NewJob[], reachable: Reachable): Promise<void> {
  const inCall = new Set(jobs.map((j) => j.id));
  const outside = jobs.flatMap((j) => (j.dependsOn ?? []).filter((d) => d.queue === queue && !inCall.has(d.id)).map((d) => d.id));
  const sameQueue = [...new Set(outside)];
  const exist = await reachable('enqueue', () => broker.jobsExist(queue, sameQueue));
  const missing = sameQueue.find((_, i) => !exist[i]);
  if (missing !== undefined) throw unknownDependency(queue, missing);
  for (const job of jobs) {
    for (const dep of job.dependsOn ?? []) {
      if (dep.queue === queue) continue;
      const link = await reachable('enqueue', () => broker.linkDependency(dep.queue, dep.id, depRef(queue, job.id)));
      if (link.state === 'missing') throw unknownDependency(dep.queue, dep.id);
      if (link.state === 'finished') {
        const ref = depRef(dep.queue, dep.id);
        await reachable('enqueue', () => broker.resolveDependency(queue, job.id, ref, link.status, link.outcome));
      }
    }
  }
}
