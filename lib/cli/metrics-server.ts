import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommandFailedError } from './errors';

/**
 * A Prometheus scrape endpoint for `brokkr worker --metrics-port`. The supervisor's `metrics()`
 * (text in the Prometheus exposition format) is being built separately, so it is looked up when
 * a scrape arrives: until a Supervisor has it, /metrics answers 501 and says why.
 */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

type MetricsSource = { metrics?: unknown };

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export async function startMetricsServer(port: number, supervisor: object): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    if (path !== '/metrics') return reply(404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET\n');
    const metrics = (supervisor as MetricsSource).metrics;
    if (typeof metrics !== 'function') return reply(501, 'this version of brokkr does not collect metrics yet\n');
    Promise.resolve()
      .then(() => metrics.call(supervisor) as unknown)
      .then(
        (text) => reply(200, String(text), PROMETHEUS_TEXT),
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
