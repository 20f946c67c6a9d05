import { createHash } from 'node:crypto';
import { PermissionError } from '../errors';
import { scriptSources } from './scripts';

// Redis 7: "NOPERM User x has no permissions to run the 'bzpopmin' command" at top level, and
// "ERR The user executing the script can't run this command ... script: <sha>, on @user_script:30."
// (or "... can't access at least one of the keys ...") for a command a script called.
const TOP_LEVEL = /^NOPERM\b.*?'([\w|-]+)' command/i;
const NOPERM = /^NOPERM\b/i;
const IN_SCRIPT = /user executing the script can't (?:run|access)[\s\S]*?script: ([0-9a-f]{40}), on @user_script:(\d+)/i;
const CALL = /redis\.p?call\(\s*'([A-Za-z]+)'/;

let bySha: Map<string, { name: string; lines: string[] }> | undefined;

function scriptOf(sha: string): { name: string; lines: string[] } | undefined {
  if (!bySha) {
    bySha = new Map();
    for (const [name, lua] of Object.entries(scriptSources())) {
      bySha.set(createHash('sha1').update(lua).digest('hex'), { name, lines: lua.split('\n') });
    }
  }
  return bySha.get(sha);
}

/** A PermissionError naming the refused command, when `message` is Redis refusing one by ACL; else null. */
export function permissionError(message: string, cause: unknown): PermissionError | null {
  let command: string | null = null;
  let where = '';
  const inScript = IN_SCRIPT.exec(message);
  if (inScript) {
    const script = scriptOf(inScript[1]!);
    const line = script?.lines[Number(inScript[2]) - 1];
    command = (line && CALL.exec(line)?.[1]?.toLowerCase()) || null;
    if (script) where = ` (called by brokkr's ${script.name} script)`;
  } else if (NOPERM.test(message)) {
    command = TOP_LEVEL.exec(message)?.[1]?.toLowerCase() ?? null;
  } else {
    return null;
  }
  const what = command ? `run ${command.toUpperCase()}${where}` : `run a command brokkr sends${where} or touch one of its keys`;
  return new PermissionError(
    `the Redis user may not ${what}: give it the ACL rules of its role, aclRules('producer' | 'supervisor') ` +
      `(see "ACL users" in the README). Redis said: ${message}`,
    command,
    cause,
  );
}
