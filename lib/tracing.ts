import type * as OtelApi from '@opentelemetry/api';
import { VERSION } from './version';

type Api = typeof OtelApi;
type Span = OtelApi.Span;

let loaded: Api | null | undefined;

/**
 * @opentelemetry/api when the application has it (an optional peer dependency): brokkr never
 * needs it, and without an SDK registered every span is a no-op.
 */
function otel(): Api | null {
  if (loaded === undefined) {
    try {
      loaded = require('@opentelemetry/api') as Api;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

export interface TracedJob {
  id: string;
  queue: string;
  name: string;
  attempt: number;
}

function jobAttributes(job: Omit<TracedJob, 'attempt'> & { attempt?: number }): OtelApi.Attributes {
  return {
    'messaging.system': 'brokkr',
    'messaging.destination.name': job.queue,
    'messaging.message.id': job.id,
    'brokkr.job.id': job.id,
    'brokkr.job.queue': job.queue,
    'brokkr.job.name': job.name,
    ...(job.attempt !== undefined ? { 'brokkr.job.attempt': job.attempt } : {}),
  };
}

/**
 * A producer span around an enqueue call; `operation` gets the trace context to store with the
 * jobs (W3C headers as JSON; undefined when nothing traces), so each run's span is its child.
 */
export async function traceEnqueue<T>(
  queue: string,
  jobs: { id: string; name: string }[],
  operation: (trace: string | undefined) => Promise<T>,
): Promise<T> {
  const api = otel();
  if (!api) return operation(undefined);
  const first = jobs[0];
  const attributes =
    jobs.length === 1 && first ? jobAttributes({ ...first, queue }) : { 'messaging.system': 'brokkr', 'messaging.destination.name': queue };
  const span = api.trace.getTracer('brokkr', VERSION).startSpan(`enqueue ${queue}`, {
    kind: api.SpanKind.PRODUCER,
    attributes: { ...attributes, 'messaging.batch.message_count': jobs.length },
  });
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.trace.setSpan(api.context.active(), span), carrier);
  // without a propagator registered (a bare SDK set-up) the W3C header is written here, so runs still link
  if (!carrier.traceparent && api.trace.isSpanContextValid(span.spanContext())) carrier.traceparent = traceparentOf(span.spanContext());
  try {
    return await operation(Object.keys(carrier).length > 0 ? JSON.stringify(carrier) : undefined);
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
    throw err;
  } finally {
    span.end();
  }
}

function traceparentOf(c: OtelApi.SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function parseTraceparent(header: string | undefined): OtelApi.SpanContext | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header ?? '');
  return m ? { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true } : undefined;
}

/** The spans of the runs a supervisor holds: opened when a run starts, ended with its outcome. */
export class RunTracer {
  private readonly spans = new Map<string, Span>();
  private readonly api = otel();

  start(job: TracedJob, trace: string | undefined): void {
    const api = this.api;
    if (!api) return;
    let parent = api.ROOT_CONTEXT;
    if (trace) {
      try {
        const carrier = JSON.parse(trace) as Record<string, string>;
        parent = api.propagation.extract(api.ROOT_CONTEXT, carrier);
        const own = api.trace.getSpanContext(parent) ? undefined : parseTraceparent(carrier.traceparent);
        if (own) parent = api.trace.setSpanContext(api.ROOT_CONTEXT, own);
      } catch {
        // a damaged context only loses the link to the enqueue
      }
    }
    const span = api.trace
      .getTracer('brokkr', VERSION)
      .startSpan(`run ${job.queue} ${job.name}`, { kind: api.SpanKind.CONSUMER, attributes: jobAttributes(job) }, parent);
    this.spans.get(job.id)?.end();
    this.spans.set(job.id, span);
  }

  /** Ends every open span (close() gave up on writing their outcomes). */
  endAll(outcome: string): void {
    for (const id of [...this.spans.keys()]) this.end(id, outcome);
  }

  /** `outcome` names the event that ended the run; an error marks the span failed. */
  end(id: string, outcome: string, error?: { message?: string }): void {
    const span = this.spans.get(id);
    if (!span || !this.api) return;
    this.spans.delete(id);
    span.setAttribute('brokkr.job.outcome', outcome);
    if (error) span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error.message ?? outcome });
    span.end();
  }
}
