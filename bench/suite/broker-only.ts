/**
 * The broker alone, with no threads: how many jobs per second the turn script leases and
 * completes when each turn writes the outcomes of the jobs the previous turn leased. A diagnostic,
 * not part of the suite: `node dist/bench/suite/broker-only.js <jobs per turn> <turns in flight> [jobs]`.
 */
import { Redis } from 'ioredis';
import type { LeasedJob, Write } from '../../lib/broker';
import { RedisBroker } from '../../lib/redis/broker';
import { startEphemeralRedis } from '../../scripts/ephemeral-redis';

async function main(): Promise<void> {
  const [perTurn = '32', inFlight = '2', total = '60000'] = process.argv.slice(2);
  const server = await startEphemeralRedis();
  const admin = new Redis(server.url);
  const broker = new RedisBroker({
    connection: server.url,
    prefix: 'brokkr',
    clientName: 'broker-only',
    commandTimeoutMs: 5_000,
    retryMaxDelayMs: 500,
    policy: { eventsMaxLen: 10_000, eventDataMaxBytes: 2048, maxStalls: 2 },
  });
  const jobs = Number(total);
  for (let i = 0; i < jobs; i += 1000) {
    await broker.enqueue(
      'q',
      Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ id: `j${i + j}`, name: 'noop', data: 'null', opts: {} })),
    );
  }
  let done = 0;
  let turns = 0;
  const pending: LeasedJob[] = [];
  const t0 = performance.now();
  const redis0 =
    Number(/used_cpu_sys:([\d.]+)/.exec(await admin.info('cpu'))![1]) + Number(/used_cpu_user:([\d.]+)/.exec(await admin.info('cpu'))![1]);
  const worker = async () => {
    while (done < jobs) {
      const writes: Write[] = pending.splice(0).map((j) => ({ kind: 'complete', id: j.id, token: j.token, result: 'null', ttlMs: 0 }));
      const result = await broker.turn('q', writes, { count: Number(perTurn), owner: 'o', tokenBase: `t${turns++}`, leaseMs: 30_000 });
      done += writes.length;
      pending.push(...result.leased);
      if (result.leased.length === 0 && writes.length === 0) break;
    }
  };
  await Promise.all(Array.from({ length: Number(inFlight) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = await admin.info('cpu');
  const redis1 = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(cpu)![1]);
  process.stdout.write(
    `broker only, ${perTurn} per turn, ${inFlight} in flight: ${Math.round(done / seconds)} jobs/s, ${turns} turns, Redis CPU ${Math.round(((redis1 - redis0) / seconds) * 100)}% (${(((redis1 - redis0) / done) * 1e6).toFixed(1)} µs per job)\n`,
  );
  await broker.close();
  admin.disconnect();
  await server.stop();
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
