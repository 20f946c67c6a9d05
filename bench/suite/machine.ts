import { readFileSync } from 'node:fs';

/** CPU time in clock ticks: the whole machine (busy and total), and single processes. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function processTicks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/**
 * Measures how much of the machine other processes used (everything but this process and the
 * benchmark's Redis), as a share of all cores.
 */
export class OtherLoad {
  private start = { busy: 0, total: 0, ours: 0 };

  constructor(private readonly redisPid: number) {
    this.reset();
  }

  reset(): void {
    const m = machineTicks();
    this.start = { ...m, ours: processTicks('self') + processTicks(this.redisPid) };
  }

  /** Share of the machine (0..1) other processes used since the last reset. */
  share(): number {
    const m = machineTicks();
    const total = m.total - this.start.total;
    if (total <= 0) return 0;
    const others = m.busy - this.start.busy - (processTicks('self') + processTicks(this.redisPid) - this.start.ours);
    return Math.max(0, others / total);
  }
}

/** Waits (up to `maxMs`) until other processes use under `threshold` of the machine over half a second. */
export async function waitForQuiet(load: OtherLoad, threshold = 0.1, maxMs = 15_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let share = 1;
  while (Date.now() < deadline) {
    load.reset();
    await new Promise((r) => setTimeout(r, 500));
    share = load.share();
    if (share < threshold) break;
  }
  load.reset();
  return share;
}
