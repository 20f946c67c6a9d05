import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { fixture, Harness, uniqueQueue, waitFor } from './support/helpers';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
});

const h = new Harness();
afterEach(() => h.closeAll());

describe('tracing with OpenTelemetry', () => {
  it("makes a span per enqueue and per run, the run's a child of the enqueue's through the context stored with the job", async () => {
    const name = uniqueQueue('otel');
    const queue = h.queue(name);
    const sup = h.supervisor({ queues: [name], threads: 1, handlers: { echo: fixture('echo'), throws: fixture('throws') } });
    await sup.start();
    const ok = await queue.enqueue('echo', { n: 1 });
    const bad = await queue.enqueue('throws', { kind: 'error' });
    await queue.waitForResult(ok.id, { timeoutMs: 10_000 });
    await expect(queue.waitForResult(bad.id, { timeoutMs: 10_000 })).rejects.toThrow();
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.name.startsWith('run ')).length === 2, 5_000, 'both run spans');

    const spans = exporter.getFinishedSpans();
    const enqueueOf = (id: string) => spans.find((s) => s.name === `enqueue ${name}` && s.attributes['brokkr.job.id'] === id)!;
    const runOf = (id: string) => spans.find((s) => s.name.startsWith(`run ${name}`) && s.attributes['brokkr.job.id'] === id)!;
    for (const job of [ok, bad]) {
      const enq = enqueueOf(job.id);
      const run = runOf(job.id);
      expect(enq.kind).toBe(SpanKind.PRODUCER);
      expect(run.kind).toBe(SpanKind.CONSUMER);
      expect(run.spanContext().traceId).toBe(enq.spanContext().traceId);
      expect(run.parentSpanContext?.spanId).toBe(enq.spanContext().spanId);
      expect(run.attributes).toMatchObject({ 'brokkr.job.queue': name, 'brokkr.job.name': job.name, 'brokkr.job.attempt': 1 });
    }
    expect(runOf(ok.id).status.code).not.toBe(SpanStatusCode.ERROR);
    expect(runOf(ok.id).attributes['brokkr.job.outcome']).toBe('completed');
    expect(runOf(bad.id).status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(runOf(bad.id).attributes['brokkr.job.outcome']).toBe('failed');
  });

  it('links the run to its enqueue even when the application registered no propagator', async () => {
    propagation.disable();
    try {
      const name = uniqueQueue('otel');
      const queue = h.queue(name);
      const sup = h.supervisor({ queues: [name], threads: 1, handlers: { echo: fixture('echo') } });
      await sup.start();
      const job = await queue.enqueue('echo', 1);
      await queue.waitForResult(job.id, { timeoutMs: 10_000 });
      const find = (prefix: string) =>
        exporter.getFinishedSpans().find((s) => s.name.startsWith(prefix) && s.attributes['brokkr.job.id'] === job.id);
      await waitFor(() => find('run ') !== undefined, 5_000, 'the run span');
      expect(find('run ')!.parentSpanContext?.spanId).toBe(find('enqueue ')!.spanContext().spanId);
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });
});
