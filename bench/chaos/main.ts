/**
 * `npm run chaos`: at least 5,000 jobs through 3 supervisor processes while supervisors are killed
 * with SIGKILL 5 times, Redis is killed and restarted twice and stalled once. Prints a table and
 * exits non-zero when a must-be-0 figure is not 0. `-- --quick` runs a shorter version.
 */
import { parseArgs } from 'node:util';
import { formatReport, runChaos, violations, type FaultKind } from './run';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const faults: FaultKind[] = values.quick
  ? ['kill-supervisor', 'restart-redis', 'kill-supervisor', 'stall-redis']
  : [
      'kill-supervisor',
      'restart-redis',
      'kill-supervisor',
      'stall-redis',
      'kill-supervisor',
      'restart-redis',
      'kill-supervisor',
      'kill-supervisor',
    ];

async function main(): Promise<void> {
  const jobs = values.quick ? 1_500 : 5_000;
  const durationMs = values.quick ? 15_000 : 40_000;
  process.stdout.write(`chaos: ${jobs} jobs over ${durationMs / 1000} s, 3 supervisor processes, faults: ${faults.join(', ')}\n`);
  const report = await runChaos({
    jobs,
    durationMs,
    faults,
    supervisors: 3,
    settleMs: 90_000,
    leaseMs: 2_000,
    log: (line) => process.stdout.write(`  ${new Date().toISOString().slice(11, 23)} ${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}\n\nfinished in ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
  const problems = violations(report);
  if (problems.length > 0) {
    process.stdout.write(`FAILED: ${problems.join('; ')}\n`);
    process.exit(1);
  }
  process.stdout.write('PASSED: every accepted job reached one final state and ran at least once\n');
}

main().catch((err) => {
  process.stderr.write(`chaos failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
