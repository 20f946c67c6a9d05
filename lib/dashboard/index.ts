import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadAssets } from './assets';
import { DashboardData } from './data';
import { LiveHub } from './live';
import { type DashboardOptions, resolveDashboardOptions } from './options';
import { Router } from './router';

export type { DashboardOptions } from './options';
export { DashboardErrorCodes, type DashboardErrorCode, DashboardHttpError } from './errors';

/**
 * A Node `http` request handler serving the dashboard, to mount in any server; `close()` ends
 * its live streams and Redis connections. Express passes `next`, which is not needed: every
 * request under the mount is answered here.
 */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  close(): Promise<void>;
}

/**
 * The web dashboard as a request handler.
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ connection: process.env.REDIS_URL, basePath: '/admin/queues', token });
 * http.createServer((req, res) => (req.url?.startsWith('/admin/queues') ? dashboard(req, res) : app(req, res))).listen(3000);
 * ```
 */
export function createDashboard(options: DashboardOptions = {}): DashboardHandler {
  const settings = resolveDashboardOptions(options);
  const data = new DashboardData(settings);
  const hub = new LiveHub(settings, (name) => data.queue(name));
  const router = new Router({ settings, data, hub, assets: loadAssets() });
  let closed = false;
  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    if (closed) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('the dashboard has been closed\n');
      return;
    }
    void router.handle(req, res);
  }) as DashboardHandler;
  handler.close = async () => {
    if (closed) return;
    closed = true;
    await hub.close();
    await data.close();
  };
  return handler;
}
