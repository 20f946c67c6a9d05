/**
 * Where the CPU goes in one throughput run: the benchmark process (supervisor and its threads, or
 * the peer's worker), and Redis, as shares of one core over the run. A diagnostic, not part of
 * the suite: `node dist/bench/suite/cpu-split.js <system> <concurrency> <jobs> [retention]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startEphemeralRedis } from '../../scripts/ephemeral-redis';
import { throughput } from './cases';
import { beeQueue, brokkr, bullmq, type Retention } from './systems';

/** CPU ticks per thread of this process, by thread name (the main thread is named after the process). */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(process.pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

function ticks(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function main(): Promise<void> {
  const [name = 'brokkr', c = '8', jobs = '40000', retention = 'production'] = process.argv.slice(2);
  const server = await startEphemeralRedis();
  const admin = new Redis(server.url);
  const r = retention as Retention;
  const system =
    name === 'brokkr'
      ? brokkr(server.url, 2, r)
      : name === 'bee-queue'
        ? beeQueue(server.url, r)
        : bullmq(server.url, name === 'BullMQ' ? 'in-process' : 'sandboxed', r);
  await throughput(system, admin, 'noop', 2_000, Number(c)); // warm up
  const t0 = performance.now();
  const self0 = ticks('self');
  const redis0 = ticks(server.process.pid!);
  const threads0 = threadTicks();
  const result = await throughput(system, admin, 'noop', Number(jobs), Number(c));
  const seconds = (performance.now() - t0) / 1000;
  const share = (t: number) => ((t / 100 / seconds) * 100).toFixed(0);
  const threads = [...threadTicks()]
    .map(([n, t]) => [n, t - (threads0.get(n) ?? 0)] as const)
    .filter(([, t]) => t > 0)
    .map(([n, t]) => `${n} ${share(t)}%`)
    .join(', ');
  const processTicks = ticks('self') - self0;
  const redisTicks = ticks(server.process.pid!) - redis0;
  const perJob = (t: number) => ((t * 10_000) / Number(jobs)).toFixed(1); // ticks are 10 ms
  process.stdout.write(
    `${name} C=${c} ${retention}: ${Math.round(result.jobsPerSec)} jobs/s; CPU over the run: process ${share(processTicks)}%, redis ${share(redisTicks)}% (of one core); by thread: ${threads}; CPU per job: process ${perJob(processTicks)} µs + redis ${perJob(redisTicks)} µs\n`,
  );
  await system.close();
  admin.disconnect();
  await server.stop();
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
