import { randomBytes } from 'node:crypto';
import { checkQueueName, type ConnectionOptions, resolveQueueOptions } from '../config';
import { ValidationError } from '../errors';

export interface DashboardOptions {
  /** Where Redis is, as for Queue. @default 'redis://127.0.0.1:6379' */
  connection?: ConnectionOptions;
  /** Prefix of every Redis key; must match the supervisors'. @default 'brokkr' */
  prefix?: string;
  /**
   * The queues shown (and the only ones that can be opened). Unset: every queue under the prefix,
   * found with SCAN as `brokkr info` does (cached for a few seconds).
   */
  queues?: string[];
  /**
   * The path the handler is mounted under, as the browser sees it (`/admin/queues`), when the
   * server hands the handler the full URL (plain `http`, Fastify). Express's `app.use(path, ...)`
   * strips the path and keeps it in `req.originalUrl`, which the dashboard reads, so there it may
   * be left out. @default ''
   */
  basePath?: string;
  /**
   * Every page and API call must present it: `?token=` once (it becomes a cookie), or an
   * `Authorization: Bearer` header. At least 16 characters. Without one, the dashboard answers
   * only requests that reach it over loopback with a loopback Host header.
   */
  token?: string;
  /** Show no actions, and refuse every action with 403. @default false */
  readOnly?: boolean;
  /**
   * Without a token, answer requests from beyond loopback too: only when your server puts its
   * own authentication in front of the dashboard. @default false
   */
  allowUnauthenticatedRemote?: boolean;
  /**
   * Secret the CSRF token is derived from (32 bytes or more). Default: random per process, which
   * is right for one process; give the same secret to several behind one load balancer.
   */
  csrfSecret?: string | Buffer;
}

/** Options after validation and defaults: what the rest of the dashboard reads. */
export interface DashboardSettings {
  connection: ConnectionOptions;
  prefix: string;
  queues: string[] | null;
  basePath: string;
  token: string | null;
  readOnly: boolean;
  allowUnauthenticatedRemote: boolean;
  csrfSecret: Buffer;
}

export const MIN_TOKEN_LENGTH = 16;

const KNOWN = ['connection', 'prefix', 'queues', 'basePath', 'token', 'readOnly', 'allowUnauthenticatedRemote', 'csrfSecret'];

export function resolveDashboardOptions(options: DashboardOptions): DashboardSettings {
  if (typeof options !== 'object' || options === null) throw new ValidationError('createDashboard: options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new ValidationError(`createDashboard: unknown option "${key}"`);
  }
  // the Queue's own checks for connection and prefix, so both fail the same way everywhere
  const { connection, prefix } = resolveQueueOptions({
    ...(options.connection !== undefined ? { connection: options.connection } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
  });
  return {
    connection,
    prefix,
    queues: checkQueues(options.queues),
    basePath: normalizeBasePath(options.basePath ?? ''),
    token: checkToken(options.token),
    readOnly: checkBoolean(options.readOnly, 'readOnly'),
    allowUnauthenticatedRemote: checkBoolean(options.allowUnauthenticatedRemote, 'allowUnauthenticatedRemote'),
    csrfSecret: checkSecret(options.csrfSecret),
  };
}

function checkQueues(queues: unknown): string[] | null {
  if (queues === undefined) return null;
  if (!Array.isArray(queues) || queues.length === 0) {
    throw new ValidationError('createDashboard: "queues" must be a non-empty array of queue names (leave it out to show every queue)');
  }
  for (const [i, q] of queues.entries()) checkQueueName(q, `createDashboard: queues[${i}]`);
  return [...new Set(queues as string[])];
}

/** `/admin/queues/` and `admin/queues` both become `/admin/queues`; `/` becomes ''. */
export function normalizeBasePath(path: unknown): string {
  if (typeof path !== 'string' || /[?#\s\\]/.test(path) || path.includes('//')) {
    throw new ValidationError(`createDashboard: "basePath" must be a URL path such as /admin/queues, got ${JSON.stringify(path)}`);
  }
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

export function checkToken(token: unknown): string | null {
  if (token === undefined) return null;
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ValidationError(
      `the dashboard token must be a string of at least ${MIN_TOKEN_LENGTH} characters without spaces (for example: openssl rand -hex 16)`,
    );
  }
  return token;
}

function checkBoolean(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ValidationError(`createDashboard: "${field}" must be true or false`);
  return value;
}

function checkSecret(secret: unknown): Buffer {
  if (secret === undefined) return randomBytes(32);
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (!Buffer.isBuffer(bytes) || bytes.length < 32) {
    throw new ValidationError('createDashboard: "csrfSecret" must be a string or Buffer of at least 32 bytes');
  }
  return bytes;
}
