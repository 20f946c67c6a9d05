import { formatReport, runChaos, violations } from '../bench/chaos/run';

describe('chaos (a shortened npm run chaos)', () => {
  it('loses no accepted job while supervisors are killed and Redis is restarted and stalled', async () => {
    const report = await runChaos({
      jobs: 400,
      durationMs: 7_000,
      supervisors: 3,
      settleMs: 60_000,
      leaseMs: 1_500,
      faults: ['kill-supervisor', 'restart-redis', 'stall-redis'],
    });
    expect({ violations: violations(report), table: formatReport(report) }).toEqual({ violations: [], table: expect.any(String) });
    expect(report.accepted + report.refused).toBe(400);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.completed + report.failed).toBe(report.accepted);
  }, 120_000);
});
