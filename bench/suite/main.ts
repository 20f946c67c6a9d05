/**
 * `npm run bench`: brokkr side by side with BullMQ (in-process and sandboxed threads) and
 * bee-queue on one throwaway Redis, alternating which goes first, each case run several times.
 * Every case runs with each system in its production configuration (finished jobs removed,
 * brokkr with resultTtlMs 0); throughput and Redis cost also run with each system's default,
 * which keeps finished jobs. Prints one table with ratios and writes it, with an SVG chart, under
 * bench/results/. `-- --quick` runs fewer and smaller rounds (a few minutes); `--only <regex>`
 * runs the cases whose label matches; `--runs N` and `--jobs N` override the plan. Then brokkr-only
 * flow-control cases (label 'flow', see flow.ts) print a table of their own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startEphemeralRedis } from '../../scripts/ephemeral-redis';
import { delayedLateness, enqueueRate, idleCost, pickupLatency, redisCost, stability, throughput } from './cases';
import { flowCases } from './flow';
import { OtherLoad, waitForQuiet } from './machine';
import { cell, fmt, markdownTable, median, throughputSvg, type Sample } from './report';
import { beeQueue, brokkr, bullmq, type Retention, type System } from './systems';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** comma-separated subset, e.g. --systems brokkr (the comparison then shows only what ran) */
    systems: { type: 'string', default: 'brokkr,BullMQ,BullMQ sandboxed,bee-queue' },
    only: { type: 'string' },
    runs: { type: 'string' },
    jobs: { type: 'string' },
  },
});
const quick = args.quick;
const plan = {
  runs: args.runs ? Number(args.runs) : quick ? 1 : 3,
  jobs: args.jobs ? Number(args.jobs) : quick ? 5_000 : 20_000,
  levels: [1, 8, 64],
  cpuJobs: quick ? 1_000 : 4_000,
  latencyJobs: quick ? 500 : 2_000,
  delayedJobs: 1_000,
  idleSeconds: 10,
  stability: quick ? [5_000, 15_000] : [20_000, 100_000],
  flowRateJobs: quick ? 500 : 1_000,
  flowBigJobs: quick ? 20_000 : 100_000,
};
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const server = await startEphemeralRedis();
  const admin = new Redis(server.url);
  const load = new OtherLoad(server.process.pid!);
  const wanted = new Set(args.systems.split(',').map((n) => n.trim()));
  const make = (retention: Retention): System[] =>
    [
      brokkr(server.url, 2, retention),
      bullmq(server.url, 'in-process', retention),
      bullmq(server.url, 'sandboxed', retention),
      beeQueue(server.url, retention),
    ].filter((s) => wanted.has(s.name));
  const bySetting: Record<Retention, System[]> = { production: make('production'), 'keep-all': make('keep-all') };
  const systems = bySetting.production;
  if (systems[0]?.name !== 'brokkr') throw new Error('--systems must include brokkr: every ratio is against it');
  const only = args.only ? new RegExp(args.only) : null;
  const results = new Map<string, Map<string, Sample>>(); // case -> system -> sample
  const record = (kase: string, system: string, value: number, disturbed: boolean) => {
    const bySystem = results.get(kase) ?? new Map<string, Sample>();
    const sample = bySystem.get(system) ?? { values: [], disturbed: 0 };
    sample.values.push(value);
    if (disturbed) sample.disturbed++;
    bySystem.set(system, sample);
    results.set(kase, bySystem);
  };

  /**
   * Runs `measure` for every system in each retention setting, `plan.runs` times, alternating
   * which system goes first. Each figure's row is labelled with the setting.
   */
  const sideBySide = async (
    label: string,
    measure: (s: System) => Promise<Record<string, number>>,
    settings: Retention[] = ['production'],
  ) => {
    if (only && !only.test(label)) return;
    for (const setting of settings) {
      for (let run = 0; run < plan.runs; run++) {
        const group = bySetting[setting];
        const order = run % 2 === 0 ? group : [...group].reverse();
        for (const system of order) {
          await waitForQuiet(load);
          const figures = await measure(system);
          const disturbed = load.share() > 0.1;
          for (const [kase, value] of Object.entries(figures)) record(`${kase} [${setting}]`, system.name, value, disturbed);
          log(
            `  ${label} [${setting}] run ${run + 1} ${system.name}: ${Object.entries(figures)
              .map(([k, v]) => `${k} ${fmt(v, v < 100 ? 2 : 0)}`)
              .join(', ')}${disturbed ? ' (disturbed)' : ''}`,
          );
        }
      }
    }
  };
  const BOTH: Retention[] = ['production', 'keep-all'];

  log(`brokkr benchmark suite${quick ? ' (quick)' : ''}: ${cpus().length} cores, Node ${process.version}, Redis on loopback`);
  for (const c of plan.levels) {
    await sideBySide(
      `throughput C=${c}`,
      async (s) => {
        const r = await throughput(s, admin, 'noop', plan.jobs, c);
        return { [`no-op jobs/s, C=${c}`]: r.jobsPerSec, [`start-up ms, C=${c}`]: r.startupMs };
      },
      BOTH,
    );
  }
  await sideBySide(
    'cpu',
    async (s) => ({ 'CPU-bound 2 ms jobs/s, C=64': (await throughput(s, admin, 'cpu', plan.cpuJobs, 64)).jobsPerSec }),
    BOTH,
  );
  await sideBySide('enqueue', async (s) => {
    const r = await enqueueRate(s, admin, plan.jobs);
    return { 'enqueueBulk jobs/s (chunks of 1,000)': r.bulkPerSec, 'enqueue jobs/s (single, 64 in flight)': r.singlePerSec };
  });
  await sideBySide('latency 500/s', async (s) => {
    const r = await pickupLatency(s, admin, 500, plan.latencyJobs, 8);
    return {
      'pickup p50 ms at 500 jobs/s, C=8': r.p50,
      'pickup p99 ms at 500 jobs/s, C=8': r.p99,
      'pickup max ms at 500 jobs/s, C=8': r.max,
    };
  });
  await sideBySide('delayed', async (s): Promise<Record<string, number>> => {
    if (!s.enqueueDelayed) return {}; // bee-queue and BullMQ sandboxed: not compared here
    const r = await delayedLateness(s, admin, plan.delayedJobs, 5_000);
    return {
      'delayed job start p50 ms late (1,000 due over 5 s, 2 consumers)': r.p50,
      'delayed job start p99 ms late (1,000 due over 5 s, 2 consumers)': r.p99,
    };
  });
  const brokkrC8 = median(results.get('no-op jobs/s, C=8 [production]')?.get('brokkr')?.values ?? []);
  const rate = Number.isFinite(brokkrC8) ? Math.max(100, Math.round(brokkrC8 * 0.8)) : 5_000;
  await sideBySide(`latency ${rate}/s`, async (s) => {
    const r = await pickupLatency(s, admin, rate, Math.round(rate * (quick ? 1 : 3)), 8);
    return {
      [`pickup p50 ms at ${fmt(rate)} jobs/s (80% of brokkr C=8)`]: r.p50,
      [`pickup p99 ms at ${fmt(rate)} jobs/s (80% of brokkr C=8)`]: r.p99,
    };
  });
  await sideBySide(
    'redis cost',
    async (s) => {
      const r = await redisCost(s, admin, plan.jobs);
      return {
        'Redis commands per job (enqueue + processing)': r.commandsPerJob,
        'script calls per job': r.scriptCallsPerJob,
        'Redis bytes per queued job': r.bytesPerQueuedJob,
      };
    },
    BOTH,
  );
  // blocking waits are counted only when they return (brokkr's after 5 s), so the window must be long: not in --quick
  if (!quick)
    await sideBySide('idle', async (s) => ({ 'commands/s sent by an idle consumer': await idleCost(s, admin, plan.idleSeconds) }));
  let stab: Awaited<ReturnType<typeof stability>> | null = null;
  if (!only || only.test('stability')) {
    await waitForQuiet(load);
    stab = await stability(server.url, admin, plan.stability[0]!, plan.stability[1]!);
  }
  if (stab)
    log(
      `  stability: RSS ${fmt(stab.rss[0] / 2 ** 20)} -> ${fmt(stab.rss[1] / 2 ** 20)} MiB, Redis ${fmt(stab.redis[0] / 2 ** 20, 1)} -> ${fmt(stab.redis[1] / 2 ** 20, 1)} MiB`,
    );

  // brokkr-only flow control (priorities, groups, rate limits): a table of its own
  let flowTable = '';
  if (!only || only.test('flow')) {
    const flowPlan = { runs: plan.runs, jobs: plan.jobs, levels: [8, 64], rateJobs: plan.flowRateJobs, bigJobs: plan.flowBigJobs };
    flowTable = await flowCases(server.url, admin, flowPlan, load, log);
  }

  const names = systems.map((s) => s.name);
  const higherIsBetter = (kase: string) => /^(no-op jobs\/s|CPU-bound|enqueue)/.test(kase);
  const ratioHeader = names.slice(1).map((n) => `brokkr vs ${n}`);
  const rows = [...results].map(([kase, bySystem]) => {
    const ours = median(bySystem.get('brokkr')?.values ?? []);
    const ratios = names.slice(1).map((n) => {
      const theirs = median(bySystem.get(n)?.values ?? []);
      if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0 || ours === 0) return '-';
      return `${fmt(higherIsBetter(kase) ? ours / theirs : theirs / ours, 2)}x`;
    });
    const digits = /ms|per job|idle/.test(kase) && !higherIsBetter(kase) ? 2 : 0;
    return [kase, ...names.map((n) => cell(bySystem.get(n), digits)), ...ratios];
  });
  if (stab) {
    rows.push([
      `brokkr RSS / Redis memory after ${fmt(plan.stability[1]!)} vs ${fmt(plan.stability[0]!)} jobs`,
      `${fmt((100 * stab.rss[1]) / stab.rss[0] - 100, 1)}% / ${fmt((100 * stab.redis[1]) / stab.redis[0] - 100, 1)}%`,
      ...names.slice(1).map(() => '-'),
      ...ratioHeader.map(() => '-'),
    ]);
  }
  const table = markdownTable(['case', ...names, ...ratioHeader], rows);
  const note = `Median of ${plan.runs} run(s) (min-max in brackets); * marks a run during which other processes used over 10% of the machine. Ratios: how many times better brokkr is (above 1 is better for brokkr, for times and costs too).`;
  const flowSection = flowTable ? `\n\n## Flow control (brokkr only)\n\n${flowTable}` : '';
  const peerSection = rows.length > 0 ? `${table}\n\n${note}` : '(no side-by-side case selected)';
  log(`\n${peerSection}${flowSection}\nfinished in ${fmt((Date.now() - started) / 1000)} s`);

  const outDir = join(process.cwd(), 'bench', 'results');
  const base = only ? 'partial' : quick ? 'quick' : 'latest';
  mkdirSync(outDir, { recursive: true });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  writeFileSync(join(outDir, `${base}.md`), `# brokkr benchmark${quick ? ' (quick)' : ''}\n\n${machine}\n\n${peerSection}${flowSection}\n`);
  writeFileSync(
    join(outDir, base === 'latest' ? 'throughput.svg' : `${base}-throughput.svg`),
    throughputSvg(
      plan.levels,
      names.map((n) => ({
        name: n,
        values: plan.levels.map((c) => median(results.get(`no-op jobs/s, C=${c} [production]`)?.get(n)?.values ?? [])),
      })),
    ),
  );
  await Promise.all([...bySetting.production, ...bySetting['keep-all']].map((s) => s.close()));
  admin.disconnect();
  await server.stop();
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
