import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { DashboardErrorCodes, DashboardHttpError } from './errors';

/**
 * Who may look and who may act. Reading needs the token when one is set; without one, only
 * requests that arrive over loopback and name a loopback host (so a DNS-rebinding page cannot
 * read a local dashboard through a name of its own). Acting also needs the CSRF token the pages
 * carry and a same-origin request, and is refused outright when read-only.
 */

export const TOKEN_COOKIE = 'brokkr_dashboard_token';
export const CSRF_HEADER = 'x-brokkr-csrf';
export const CSRF_FIELD = '_csrf';

export interface AccessPolicy {
  token: string | null;
  allowUnauthenticatedRemote: boolean;
}

/** Compares in time independent of where the strings differ, and of their lengths (both are hashed first). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The token pages embed in forms and the client script sends back: the same for the life of the secret. */
export function csrfTokenFor(secret: Buffer): string {
  return createHmac('sha256', secret).update('brokkr-dashboard:csrf').digest('base64url');
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    try {
      if (!cookies.has(name)) cookies.set(name, decodeURIComponent(raw));
    } catch {
      // a cookie another app set badly is not ours to judge
    }
  }
  return cookies;
}

/** The cookie that carries the token after a `?token=` visit: never readable by script, never sent cross-site. */
export function tokenCookie(token: string, path: string, secure: boolean): string {
  return [`${TOKEN_COOKIE}=${encodeURIComponent(token)}`, `Path=${path || '/'}`, 'HttpOnly', 'SameSite=Strict', secure ? 'Secure' : '']
    .filter(Boolean)
    .join('; ');
}

/** The token a request presents: a bearer header wins over the cookie. */
export function presentedToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  return parseCookies(req.headers.cookie).get(TOKEN_COOKIE) ?? null;
}

/**
 * Throws unless the request may read. `queryToken` is a `?token=` the request carried, checked by
 * the caller's redirect (see router): here it counts like any other presentation.
 */
export function checkReadAccess(req: IncomingMessage, policy: AccessPolicy, queryToken: string | null): void {
  if (policy.token !== null) {
    const given = queryToken ?? presentedToken(req);
    if (given === null) {
      throw new DashboardHttpError(DashboardErrorCodes.UNAUTHORIZED, 'this dashboard needs its token: open the URL with ?token=<token>');
    }
    if (!tokensEqual(given, policy.token)) throw new DashboardHttpError(DashboardErrorCodes.UNAUTHORIZED, 'wrong token');
    return;
  }
  if (policy.allowUnauthenticatedRemote) return;
  if (!isLoopbackAddress(req.socket.remoteAddress ?? '')) {
    throw new DashboardHttpError(
      DashboardErrorCodes.FORBIDDEN,
      'this dashboard has no token, so it answers only on this machine (loopback); give it a token to serve others',
    );
  }
  if (!isLoopbackHost(req.headers.host ?? '')) {
    throw new DashboardHttpError(
      DashboardErrorCodes.FORBIDDEN,
      'without a token the dashboard answers only to a loopback host name (localhost, 127.0.0.1, [::1])',
    );
  }
}

/**
 * Throws unless a request may change something: not read-only, the CSRF token in the header or
 * form, and, where the browser says where the request comes from, the same origin.
 */
export function checkActionAllowed(req: IncomingMessage, readOnly: boolean, expectedCsrf: string, formCsrf: string | null): void {
  if (readOnly) throw new DashboardHttpError(DashboardErrorCodes.FORBIDDEN, 'this dashboard is read-only');
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined && !sameHost(origin, host)) {
    throw new DashboardHttpError(DashboardErrorCodes.FORBIDDEN, 'the request comes from another origin');
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new DashboardHttpError(DashboardErrorCodes.FORBIDDEN, 'the request comes from another site');
  }
  const referer = req.headers.referer;
  if (origin === undefined && referer !== undefined && !sameHost(referer, host)) {
    throw new DashboardHttpError(DashboardErrorCodes.FORBIDDEN, 'the request comes from another origin');
  }
  const header = req.headers[CSRF_HEADER];
  const given = typeof header === 'string' ? header : formCsrf;
  if (given === null || !tokensEqual(given, expectedCsrf)) {
    throw new DashboardHttpError(DashboardErrorCodes.FORBIDDEN, 'the CSRF token is missing or wrong: reload the page and try again');
  }
}

function sameHost(url: string, host: string): boolean {
  try {
    return new URL(url).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false; // includes Origin: null (a sandboxed frame, a file)
  }
}

export function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/** A Host header naming this machine: localhost (and *.localhost), 127.x.x.x or [::1], with any port. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return isLoopbackAddress(name);
}
