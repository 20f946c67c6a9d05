import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Supervisor } from '../supervisor/supervisor';
import { CommandFailedError } from './errors';

/** A Prometheus scrape endpoint for `brokkr worker --metrics-port`: the supervisor's `metrics()` registry on /metrics. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(port: number, supervisor: Supervisor): Promise<MetricsServer> {
  const registry = supervisor.metrics(); // counting starts now, before the supervisor takes a job
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    if (path !== '/metrics') return reply(404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET\n');
    registry.metrics().then(
      (text) => reply(200, text, registry.contentType),
      (err: unknown) => reply(500, `metrics failed: ${(err as Error)?.message ?? String(err)}\n`),
    );
  });
  server.listen(port);
  try {
    await once(server, 'listening'); // rejects with the server's 'error' (EADDRINUSE, EACCES)
  } catch (err) {
    server.close();
    throw new CommandFailedError(`cannot serve metrics on port ${port} (${(err as Error).message})`);
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
