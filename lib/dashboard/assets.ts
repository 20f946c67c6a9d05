import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The client scripts and stylesheet, shipped as files beside this module (the build copies
 * lib/dashboard/assets into dist like the Lua scripts) and served from the dashboard's own origin,
 * so the Content-Security-Policy can forbid inline script and every other origin. Read once; each
 * URL carries a hash of the content, so browsers may cache it for good.
 */

export interface Asset {
  body: Buffer;
  type: string;
  /** the first characters of the content's SHA-256: the `?v=` of its URL */
  version: string;
}

const FILES: Record<string, string> = {
  'charts.js': 'text/javascript; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

export const ASSETS_DIR = join(__dirname, 'assets');

export function loadAssets(dir = ASSETS_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) });
  }
  return assets;
}
