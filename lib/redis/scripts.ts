import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts, one file per atomic step. A file is named `<name>-<n>.lua`, where n is the
 * number of fixed keys; scripts that take one key per job get the rest of their keys at call time,
 * so every script is defined with a variable key count and called as (numKeys, ...keys, ...args).
 */
const SCRIPT_FILES = {
  brokkrEnqueue: 'enqueue-1.lua',
  brokkrFetch: 'fetch-2.lua',
  brokkrFinish: 'finish-4.lua',
  brokkrRelease: 'release-4.lua',
  brokkrRenew: 'renew-1.lua',
  brokkrExpired: 'expired-3.lua',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

type ScriptArg = string | number;
export type ScriptCall = (numKeys: number, ...keysAndArgs: ScriptArg[]) => Promise<unknown>;
export type WithScripts<T> = T & { [K in ScriptName]: ScriptCall };

let sources: Record<ScriptName, string> | undefined;

function loadSources(): Record<ScriptName, string> {
  if (!sources) {
    const dir = join(__dirname, 'lua');
    const loaded = {} as Record<ScriptName, string>;
    for (const [name, file] of Object.entries(SCRIPT_FILES) as [ScriptName, string][]) {
      loaded[name] = readFileSync(join(dir, file), 'utf8');
    }
    sources = loaded;
  }
  return sources;
}

/** Registers every script on a connection (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function defineScripts<T extends Redis>(redis: T): WithScripts<T> {
  for (const [name, lua] of Object.entries(loadSources())) {
    if (!(name in redis)) redis.defineCommand(name, { lua });
  }
  return redis as WithScripts<T>;
}
