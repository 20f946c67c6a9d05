/** What a supervisor says about itself in the registry, renewed with each heartbeat. */
export interface WorkerInfo {
  /** the supervisor's id (host:pid:random) */
  id: string;
  host: string;
  pid: number;
  /** the queues it serves, highest priority first */
  queues: string[];
  concurrency: number;
  /** worker threads it may run */
  threads: number;
  /** brokkr's version */
  version: string;
  /** epoch ms */
  startedAt: number;
  /** jobs it holds now: running, or leased and about to */
  running: number;
  /** jobs it completed / failed since it started */
  completed: number;
  failed: number;
  /** epoch ms, by the supervisor's clock */
  lastHeartbeat: number;
}

export function decodeWorker(json: string | null): WorkerInfo | null {
  if (!json) return null;
  try {
    const info = JSON.parse(json) as WorkerInfo;
    return typeof info?.id === 'string' && Array.isArray(info.queues) ? info : null;
  } catch {
    return null;
  }
}
