import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HandlerModule, Handlers } from '../config';

/** Turns handler modules into file URLs a thread can import; relative paths resolve against the working directory. */
export function resolveHandlers(handlers: Handlers): Record<string, string> | string {
  if (typeof handlers === 'string' || handlers instanceof URL) return toHref(handlers);
  const out: Record<string, string> = {};
  for (const [name, mod] of Object.entries(handlers)) out[name] = toHref(mod);
  return out;
}

function toHref(mod: HandlerModule): string {
  if (mod instanceof URL) return mod.href;
  if (/^(file|data):/.test(mod)) return mod;
  return pathToFileURL(resolve(process.cwd(), mod)).href;
}
