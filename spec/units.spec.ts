import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { supervisorOptionsFromEnv } from '../lib/env';
import { deserializeError, ErrorCodes, JobFailedError, serializeError } from '../lib/errors';
import { uuidv7 } from '../lib/id';
import { findUnfaithfulJson } from '../lib/json';
import { queueKeys } from '../lib/redis/keys';
import { permissionError } from '../lib/redis/permissions';
import { scriptSources } from '../lib/redis/scripts';
import { redact, scrubSecrets } from '../lib/redact';
import { TRANSITIONS } from '../lib/states';

describe('uuidv7', () => {
  it('makes RFC 9562 version 7 ids that sort in creation order within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      parseInt(
        uuidv7(Date.now() + 10_000)
          .replace(/-/g, '')
          .slice(0, 12),
        16,
      ),
    ).toBeGreaterThan(1_700_000_000_000);
  });
});

describe('findUnfaithfulJson', () => {
  it('accepts what JSON carries unchanged', () => {
    expect(findUnfaithfulJson({ a: [1, 'x', true, null, { b: 2.5 }], at: new Date() }, 'data')).toBeNull();
    expect(findUnfaithfulJson(null, 'data')).toBeNull();
  });
  it('names the first thing JSON would change', () => {
    expect(findUnfaithfulJson({ a: { b: [0, -Infinity] } }, 'data')).toBe('data.a.b[1] is -Infinity, which JSON cannot carry');
    expect(findUnfaithfulJson({ [Symbol('k')]: 1 }, 'data')).toBe('data has symbol keys, which JSON drops');
    expect(findUnfaithfulJson({ toJSON: () => 1 }, 'data')).toContain('toJSON');
    const shared = { x: 1 };
    expect(findUnfaithfulJson({ a: shared, b: shared }, 'data')).toBeNull(); // shared, not circular
  });
});

describe('errors across the thread boundary', () => {
  it('serialises Errors with name, message, stack and code, and non-Errors readably', () => {
    const err = Object.assign(new RangeError('out'), { code: 'E_OUT' });
    expect(serializeError(err)).toEqual({ name: 'RangeError', message: 'out', stack: err.stack, code: 'E_OUT' });
    expect(serializeError(42)).toEqual({
      name: 'NonErrorThrown',
      message: 'handler threw a non-Error value: 42',
      code: ErrorCodes.NON_ERROR_THROWN,
    });
    expect(serializeError(undefined).message).toBe('handler threw a non-Error value: undefined');
  });
  it('JobFailedError carries the stored error as its cause', () => {
    const failed = new JobFailedError('j1', { name: 'JobTimeoutError', message: 'too slow', code: ErrorCodes.JOB_TIMEOUT });
    expect(failed.code).toBe(ErrorCodes.JOB_FAILED);
    expect(failed.message).toBe('job j1 failed: JobTimeoutError: too slow');
    expect(failed.cause).toMatchObject({ name: 'JobTimeoutError', code: ErrorCodes.JOB_TIMEOUT });
    expect(deserializeError({ name: 'X', message: 'm' }).stack).toBe('X: m');
  });
});

describe('keys', () => {
  it('puts every key of a queue in one Redis Cluster hash tag', () => {
    const k = queueKeys('brokkr', 'emails');
    for (const key of [k.wait, k.active, k.completed, k.failed, k.events, k.marker, k.delayed, k.job('abc'), k.wake('host:1:ab')]) {
      expect(key.startsWith('brokkr:{emails}:')).toBe(true);
    }
  });
});

describe('supervisorOptionsFromEnv', () => {
  it('reads the documented variables and rejects values that are not whole numbers', () => {
    expect(supervisorOptionsFromEnv({ REDIS_URL: 'redis://h:1', BROKKR_CONCURRENCY: '8', BROKKR_QUEUES: 'a, b' })).toEqual({
      connection: 'redis://h:1',
      concurrency: 8,
      queues: ['a', 'b'],
    });
    expect(() => supervisorOptionsFromEnv({ BROKKR_THREADS: 'two' })).toThrow('BROKKR_THREADS must be a whole number, got "two"');
  });
});

describe('the shipped library', () => {
  it('never starts processes or installs system packages (the throwaway Redis of the demo and tests lives in scripts/)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(join(__dirname, '..', 'lib'));
    const offenders = files.filter((f) => /apt-get|node:child_process|from 'child_process'/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    expect(files.length).toBeGreaterThan(20);
  });
});

describe('credentials in text', () => {
  it('redacts the password of any URL, keeping the user and host', () => {
    expect(redact('connect to redis://app:s3cr%40t@db:6379/0 failed')).toBe('connect to redis://app:***@db:6379/0 failed');
    expect(redact('rediss://:pw@h redis://u:p@h2')).toBe('rediss://:***@h redis://u:***@h2');
    expect(redact('got "http://u:secret@x:1"')).toBe('got "http://u:***@x:1"');
    expect(redact('redis://db:6379 and a@b.c')).toBe('redis://db:6379 and a@b.c');
  });

  it('removes the arguments of AUTH and HELLO that ioredis attaches to its errors', () => {
    const err = Object.assign(new Error('WRONGPASS'), { command: { name: 'hello', args: ['3', 'AUTH', 'u', 'pw'] } });
    expect(scrubSecrets(err).command.args).toEqual(['***']);
    const other = Object.assign(new Error('x'), { command: { name: 'hget', args: ['k', 'f'] } });
    expect(scrubSecrets(other).command.args).toEqual(['k', 'f']);
  });
});

describe('permission errors', () => {
  it('names the command Redis refused at top level', () => {
    const err = permissionError("NOPERM User p has no permissions to run the 'bzpopmin' command", null);
    expect(err).toMatchObject({ code: ErrorCodes.PERMISSION, command: 'bzpopmin' });
    expect(err?.message).toMatch(/may not run BZPOPMIN/);
  });

  it('finds the command a script called from the script line Redis reports', () => {
    const lua = scriptSources().brokkrTurn;
    const lines = lua.split('\n');
    const line = lines.findIndex((l) => l.includes("redis.call('ZPOPMIN'")) + 1;
    const sha = createHash('sha1').update(lua).digest('hex');
    const message = `ERR The user executing the script can't run this command or subcommand script: ${sha}, on @user_script:${line}.`;
    const err = permissionError(message, null);
    expect(err).toMatchObject({ command: 'zpopmin' });
    expect(err?.message).toMatch(/may not run ZPOPMIN \(called by brokkr's brokkrTurn script\)/);
  });

  it('leaves other errors alone', () => {
    expect(permissionError('WRONGTYPE Operation against a key holding the wrong kind of value', null)).toBeNull();
  });
});

describe('the README state diagram', () => {
  it('shows every move lib/states.ts allows, and no other', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const diagram = /```mermaid\nstateDiagram-v2\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const drawn = new Set([...diagram.matchAll(/^\s*(\S+) --> (\S+):/gm)].map((m) => `${m[1]} -> ${m[2]}`));
    const allowed = new Set(
      Object.values(TRANSITIONS).flatMap((t) => (t.from.length === 0 ? ['[*]'] : [...t.from]).map((from) => `${from} -> ${t.to}`)),
    );
    expect([...drawn].sort()).toEqual([...allowed].sort());
  });
});
