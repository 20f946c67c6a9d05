import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './connection';
import { luaConstants } from '../states';
import { metricsLua } from '../metrics';

/**
 * The Lua scripts, one file per atomic step, named `<name>-<n>.lua` where n is the number of fixed
 * keys; scripts that take one key per job get the rest at call time, so every script is defined
 * with a variable key count and called as (numKeys, ...keys, ...args). What several scripts share
 * lives in `lua/includes/` and is pulled in by a `-- @include "name"` line; every script starts
 * with the constants of lib/states.ts (S, M, R, E) and lib/metrics.ts (METRIC), so no script spells a status or a reply.
 */
const SCRIPT_FILES = {
  brokkrEnqueue: 'enqueue-17.lua',
  brokkrTurn: 'turn-19.lua',
  brokkrRenew: 'renew-1.lua',
  brokkrExpired: 'expired-5.lua',
  brokkrWake: 'wake-1.lua',
  brokkrCounts: 'counts-9.lua',
  brokkrCancel: 'cancel-19.lua',
  brokkrNotes: 'notes-2.lua',
  brokkrDepLink: 'dep-link-3.lua',
  brokkrDepResolve: 'dep-resolve-18.lua',
  brokkrHandoffRead: 'handoff-read-2.lua',
  brokkrHandoffDone: 'handoff-done-2.lua',
  brokkrRetry: 'retry-12.lua',
  brokkrRemove: 'remove-19.lua',
  brokkrClean: 'clean-2.lua',
  brokkrDrain: 'drain-12.lua',
  brokkrScheduleSet: 'schedule-set-5.lua',
  brokkrScheduleAdvance: 'schedule-advance-4.lua',
  brokkrScheduleRemove: 'schedule-remove-4.lua',
  brokkrSchedulesStale: 'schedules-stale-2.lua',
  brokkrFlow: 'flow-12.lua',
  brokkrRegister: 'register-2.lua',
  brokkrPresence: 'presence-1.lua',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

type ScriptArg = string | number;
export type ScriptCall = (numKeys: number, ...keysAndArgs: ScriptArg[]) => Promise<unknown>;
export type WithScripts<T> = T & { [K in ScriptName]: ScriptCall };

const LUA_DIR = join(__dirname, 'lua');
const INCLUDE = /^--\s*@include\s+"([\w-]+)"\s*$/gm;

let sources: Record<ScriptName, string> | undefined;

/** A script's full text: the constants, then its file with each include replaced by the included file. */
export function scriptSource(file: string): string {
  const seen = new Set<string>();
  const expand = (text: string): string =>
    text.replace(INCLUDE, (_line, name: string) => {
      if (seen.has(name)) return `-- (${name} included above)`;
      seen.add(name);
      return expand(readFileSync(join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'));
    });
  return `${luaConstants()}\n${metricsLua()}\n${expand(readFileSync(join(LUA_DIR, file), 'utf8'))}`;
}

export function scriptSources(): Record<ScriptName, string> {
  if (!sources) {
    const loaded = {} as Record<ScriptName, string>;
    for (const [name, file] of Object.entries(SCRIPT_FILES) as [ScriptName, string][]) loaded[name] = scriptSource(file);
    sources = loaded;
  }
  return sources;
}

/** Registers every script on a connection (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT). */
export function defineScripts<T extends RedisClient>(redis: T): WithScripts<T> {
  for (const [name, lua] of Object.entries(scriptSources())) {
    if (!(name in redis)) redis.defineCommand(name, { lua });
  }
  return redis as WithScripts<T>;
}
