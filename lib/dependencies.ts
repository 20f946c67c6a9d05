import { ValidationError } from './errors';
import type { SerializedError } from './errors';

/** A job a new job depends on: an id of the same queue, or { queue, id } for another queue's job. */
export type DependencyRef = string | { queue: string; id: string };

/**
 * What becomes of a deferred job when a dependency fails or is canceled (a dependency that is
 * retrying has not failed yet): fail (BRK_DEPENDENCY_FAILED), cancel, or ignore (it runs anyway).
 */
export const DEPENDENCY_POLICIES = ['fail', 'cancel', 'ignore'] as const;
export type DependencyPolicy = (typeof DEPENDENCY_POLICIES)[number];

/** What ctx.dependencies() tells a handler about one job it depended on. */
export type DependencyOutcome =
  | { queue: string; id: string; status: 'completed'; result: unknown }
  | { queue: string; id: string; status: 'failed' | 'canceled'; error: SerializedError };

export interface JobAddress {
  queue: string;
  id: string;
}

/** Most dependencies one job may have. */
const MAX_DEPENDENCIES = 1000;

export function unknownDependency(queue: string, id: string): ValidationError {
  return new ValidationError(`dependsOn: job ${id} of queue ${queue} is unknown (never enqueued, expired or removed)`);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function checkDependsOn(value: unknown, where: string): DependencyRef[] {
  const what = `${where}job option "dependsOn"`;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_DEPENDENCIES) {
    throw new ValidationError(
      `${what} must be a non-empty array of at most ${MAX_DEPENDENCIES} job ids or { queue, id }, got ${describe(value)}`,
    );
  }
  for (const [i, ref] of value.entries()) {
    const ok =
      (typeof ref === 'string' && ref.length > 0) ||
      (typeof ref === 'object' &&
        ref !== null &&
        typeof (ref as JobAddress).queue === 'string' &&
        typeof (ref as JobAddress).id === 'string' &&
        (ref as JobAddress).id.length > 0);
    if (!ok) throw new ValidationError(`${what}[${i}] must be a job id or { queue, id }, got ${describe(ref)}`);
  }
  return value as DependencyRef[];
}

export function checkDependencyPolicy(value: unknown, where: string): DependencyPolicy {
  if (!(DEPENDENCY_POLICIES as readonly unknown[]).includes(value)) {
    throw new ValidationError(
      `${where}job option "onDependencyFailure" must be one of ${DEPENDENCY_POLICIES.join(', ')}, got ${describe(value)}`,
    );
  }
  return value as DependencyPolicy;
}

/** The addresses of `refs`, ids of the same queue given `queue`; duplicates dropped. */
export function addresses(refs: DependencyRef[], queue: string): JobAddress[] {
  const seen = new Set<string>();
  const out: JobAddress[] = [];
  for (const ref of refs) {
    const a = typeof ref === 'string' ? { queue, id: ref } : { queue: ref.queue, id: ref.id };
    const key = `${a.queue}\t${a.id}`;
    if (!seen.has(key)) out.push(a);
    seen.add(key);
  }
  return out;
}

/**
 * The jobs of one call in an order where each comes after those of the call it depends on (so
 * an outcome known at enqueue passes down the graph at once); a cycle is a ValidationError naming it.
 */
export function dependencyOrder(jobs: { id: string; dependsOn?: JobAddress[] }[], queue: string): number[] {
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  const state = new Map<number, 'visiting' | 'done'>();
  const order: number[] = [];
  const visit = (i: number, path: string[]) => {
    if (state.get(i) === 'done') return;
    const id = jobs[i]!.id;
    if (state.get(i) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(id)), id];
      throw new ValidationError(`dependsOn: the jobs of this call depend on each other in a cycle: ${cycle.join(' -> ')}`);
    }
    state.set(i, 'visiting');
    for (const dep of jobs[i]!.dependsOn ?? []) {
      const j = dep.queue === queue ? index.get(dep.id) : undefined;
      if (j !== undefined) visit(j, [...path, id]);
    }
    state.set(i, 'done');
    order.push(i);
  };
  for (let i = 0; i < jobs.length; i++) visit(i, []);
  return order;
}
