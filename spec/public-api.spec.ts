import { expectTypeOf } from 'expect-type';
import * as brokkr from '../lib';
import {
  type BrokerDownEvent,
  type BrokerUpEvent,
  type CompletedEvent,
  ClosedError,
  ErrorCodes,
  type FailedEvent,
  type Handler,
  type JobContext,
  type JobInfo,
  type JobOptions,
  type JobRef,
  type JobStatus,
  type Queue,
  type RequeuedEvent,
  type RetryingEvent,
  type SerializedError,
  type StalledEvent,
  type Supervisor,
  type SupervisorEvents,
  type SupervisorOptions,
} from '../lib';

/**
 * The public API as users import it from 'brokkr': these are checked by `tsc --noEmit` (the
 * first step of npm test), and the runtime half checks what the index exports.
 */

describe('the public API', () => {
  it('compiles as the README shows it', () => {
    const typed = (queue: Queue<{ to: string }, { delivered: boolean }>) => {
      expectTypeOf(queue.enqueue).parameters.toEqualTypeOf<[string, { to: string }, JobOptions?]>();
      expectTypeOf(queue.enqueue).returns.resolves.toEqualTypeOf<JobRef>();
      expectTypeOf(queue.waitForResult).returns.resolves.toEqualTypeOf<{ delivered: boolean }>();
      expectTypeOf(queue.getJob).returns.resolves.toEqualTypeOf<JobInfo<{ to: string }, { delivered: boolean }> | null>();
    };
    expect(typeof typed).toBe('function');

    expectTypeOf<JobOptions>().toMatchTypeOf<{
      timeoutMs?: number;
      resultTtlMs?: number;
      failedTtlMs?: number;
      delayMs?: number;
      runAt?: Date | number;
      attempts?: number;
      backoff?: brokkr.Backoff;
    }>();
    expectTypeOf<JobInfo['errors']>().toEqualTypeOf<brokkr.AttemptError[]>();
    const housekeeping = (queue: Queue<{ to: string }, { delivered: boolean }>) => {
      expectTypeOf(queue.getCounts).returns.resolves.toEqualTypeOf<brokkr.JobCounts>();
      expectTypeOf<brokkr.JobCounts>().toEqualTypeOf<
        Record<'queued' | 'active' | 'delayed' | 'retrying' | 'deferred' | 'completed' | 'failed' | 'canceled', number>
      >();
      expectTypeOf(queue.getJobs).returns.resolves.toEqualTypeOf<JobInfo<{ to: string }, { delivered: boolean }>[]>();
      expectTypeOf(queue.retry).returns.resolves.toBeVoid();
      expectTypeOf(queue.retryAll).returns.resolves.toBeNumber();
      expectTypeOf(queue.remove).returns.resolves.toBeBoolean();
      expectTypeOf(queue.cancel).returns.resolves.toEqualTypeOf<'canceled' | 'canceling'>();
      expectTypeOf(queue.clean).returns.resolves.toBeNumber();
      expectTypeOf(queue.drain).returns.resolves.toBeNumber();
    };
    expect(typeof housekeeping).toBe('function');
    expectTypeOf<brokkr.QueueOptions['defaultJobOptions']>().toEqualTypeOf<JobOptions | undefined>();
    expectTypeOf<SupervisorOptions['backoffStrategies']>().toEqualTypeOf<
      Record<string, (attempt: number, error: SerializedError) => number> | undefined
    >();
    expectTypeOf<JobStatus>().toEqualTypeOf<
      'queued' | 'active' | 'completed' | 'failed' | 'delayed' | 'retrying' | 'canceled' | 'deferred'
    >();
    expectTypeOf<JobInfo['error']>().toEqualTypeOf<SerializedError | undefined>();

    const handler: Handler<{ to: string }, { delivered: boolean }> = async (data, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<JobContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      return { delivered: data.to.length > 0 };
    };
    expect(typeof handler).toBe('function');

    expectTypeOf<SupervisorOptions>().toHaveProperty('handlers');
    expectTypeOf<Parameters<SupervisorEvents['completed']>[0]>().toEqualTypeOf<CompletedEvent>();
    expectTypeOf<Parameters<SupervisorEvents['failed']>[0]>().toEqualTypeOf<FailedEvent>();
    expectTypeOf<Parameters<SupervisorEvents['requeued']>[0]>().toEqualTypeOf<RequeuedEvent>();
    expectTypeOf<Parameters<SupervisorEvents['retrying']>[0]>().toEqualTypeOf<RetryingEvent>();
    expectTypeOf<RetryingEvent>().toEqualTypeOf<{
      job: { id: string; queue: string; name: string; attempt: number };
      error: SerializedError;
      delayMs: number;
      nextRunAt: number;
    }>();
    expectTypeOf<Parameters<SupervisorEvents['stalled']>[0]>().toEqualTypeOf<StalledEvent>();
    expectTypeOf<Parameters<SupervisorEvents['broker:down']>[0]>().toEqualTypeOf<BrokerDownEvent>();
    expectTypeOf<Parameters<SupervisorEvents['broker:up']>[0]>().toEqualTypeOf<BrokerUpEvent>();
    expectTypeOf<StalledEvent>().toEqualTypeOf<{ job: { id: string; queue: string; name: string; attempt: number }; stalls: number }>();
    expectTypeOf<BrokerUpEvent>().toEqualTypeOf<{ at: number; downtimeMs: number }>();

    const onSupervisor = (s: Supervisor) => {
      s.on('completed', (e) => expectTypeOf(e.result).toBeUnknown());
      s.on('timeout', (e) => expectTypeOf(e.timeoutMs).toBeNumber());
      // @ts-expect-error: not an event of the supervisor
      s.on('finished', () => undefined);
    };
    expect(typeof onSupervisor).toBe('function');
  });

  it('exports the classes, the error codes and nothing internal', () => {
    expect(Object.keys(brokkr).sort()).toEqual(
      [
        'BrokerError',
        'BrokerUnavailableError',
        'BrokkrError',
        'ClosedError',
        'CorruptJobError',
        'ErrorCodes',
        'HandlerLoadError',
        'JobCanceledError',
        'JobFailedError',
        'JobNotFoundError',
        'JobStateError',
        'JobTimeoutError',
        'PermissionError',
        'Queue',
        'QueueEvents',
        'ReplicationError',
        'Supervisor',
        'UnknownHandlerError',
        'UnrecoverableError',
        'ValidationError',
        'WaitTimeoutError',
        'aclRules',
        'createDashboard',
        'supervisorOptionsFromEnv',
      ].sort(),
    );
    expect(new ClosedError('queue x')).toMatchObject({ code: ErrorCodes.CLOSED, name: 'ClosedError' });
  });
});
