/**
 * `npm run failover`: kills the master that holds a busy queue, on a local Redis Cluster and under
 * Sentinel, with and without waitForReplicas, with replicas in sync and 1 s behind (stopped just
 * before the kill), several times each, and prints how long producers
 * and the supervisor were stalled and how many accepted jobs were lost. Exits non-zero when a run
 * with waitForReplicas 1 lost an accepted job. `-- --runs N` (default 3), `-- --producers N`
 * (enqueue loops side by side, default 8), `-- --topology cluster|sentinel`.
 */
import { parseArgs } from 'node:util';
import { type FailoverReport, runFailover, type Topology } from './run';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    producers: { type: 'string', default: '8' },
    topology: { type: 'string' },
  },
});
const runs = Number(values.runs);
const producers = Number(values.producers);
const topologies: Topology[] = values.topology ? [values.topology as Topology] : ['cluster', 'sentinel'];

/** [waitForReplicas, replicaLagMs]: a plain failover, then one whose replicas were 1 s behind */
const SCENARIOS = [
  [0, 0],
  [1, 0],
  [0, 1_000],
  [1, 1_000],
] as const;

const row = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).padStart(9)).join(' | ')} |`;
const ms = (n: number) => (Number.isFinite(n) ? String(n) : 'never');

async function main(): Promise<void> {
  process.stdout.write(`failover: SIGKILL of the queue's master, restarted 5 s later; ${producers} producers, ${runs} runs per row\n\n`);
  process.stdout.write(
    `${row(['topology', 'WAIT', 'lag ms', 'run', 'accepted', 'refused', 'lost', 'missing', 'producer stall ms', 'supervisor stall ms'])}\n`,
  );
  const unsafe: string[] = [];
  for (const topology of topologies) {
    for (const [waitForReplicas, replicaLagMs] of SCENARIOS) {
      const reports: FailoverReport[] = [];
      const label = [topology, waitForReplicas, replicaLagMs];
      for (let run = 1; run <= runs; run++) {
        const r = await runFailover({ topology, waitForReplicas, producers, replicaLagMs });
        reports.push(r);
        process.stdout.write(
          `${row([...label, run, r.accepted, r.refused, r.lost, r.missing, ms(r.producerStallMs), ms(r.supervisorStallMs)])}\n`,
        );
        if (waitForReplicas > 0 && r.lost > 0) unsafe.push(`${label.join('/')} run ${run} lost ${r.lost}`);
      }
      const median = (f: (r: FailoverReport) => number) => {
        const v = reports.map(f).sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)]!;
      };
      process.stdout.write(
        `${row([...label, 'median', median((r) => r.accepted), median((r) => r.refused), median((r) => r.lost), median((r) => r.missing), ms(median((r) => r.producerStallMs)), ms(median((r) => r.supervisorStallMs))])}\n`,
      );
    }
  }
  if (unsafe.length > 0) {
    process.stdout.write(`\nFAILED: accepted jobs lost with waitForReplicas 1: ${unsafe.join('; ')}\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
