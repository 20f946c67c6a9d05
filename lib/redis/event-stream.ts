import type { DurabilitySettings, EventBatch, EventCursor, EventStreamState } from '../broker';
import { BrokerUnavailableError } from '../errors';
import type { RedisClient } from './connection';
import { decodeStreamEvent, type StreamEvent } from '../event-codec';

/** Reading a queue's event stream and the server's settings: the parts of RedisBroker that only parse. */

type XreadReply = [string, [string, string[]][]][] | null;
type Call = <T>(operation: () => Promise<T>) => Promise<T>;

function entriesOf(reply: XreadReply): { id: string; event: StreamEvent | null }[] {
  const out: { id: string; event: StreamEvent | null }[] = [];
  for (const [, entries] of reply ?? []) {
    for (const [id, flat] of entries) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      out.push({ id, event: decodeStreamEvent(fields) });
    }
  }
  return out;
}

/** XREAD's reply as decoded job events, and the cursor past the last entry read (even one skipped). */
export function decodeXread(reply: XreadReply, cursor: EventCursor): { cursor: EventCursor; events: StreamEvent[] } {
  const entries = entriesOf(reply);
  const events = entries.flatMap((e) => (e.event ? [e.event] : []));
  return { cursor: (entries.at(-1)?.id ?? cursor) as EventCursor, events };
}

/** True once `cursor` is at or past `target` (stream ids: ms-seq). */
export function cursorReached(cursor: EventCursor, target: EventCursor): boolean {
  return compareIds(cursor, target) >= 0;
}

export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

const EMPTY_STREAM: EventStreamState = { added: 0, length: 0, firstId: null, lastId: '0-0' };

/** XINFO STREAM's flat reply; a missing stream (XINFO's "no such key") is an empty one. */
function decodeStreamInfo(reply: unknown): EventStreamState {
  if (!Array.isArray(reply)) return EMPTY_STREAM;
  const info: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) info[String(reply[i])] = reply[i + 1];
  const first = info['first-entry'];
  return {
    added: info['entries-added'] === undefined ? null : Number(info['entries-added']),
    length: Number(info.length ?? 0),
    firstId: Array.isArray(first) ? String(first[0]) : null,
    lastId: String(info['last-generated-id'] ?? '0-0'),
  };
}

function isMissingStream(err: unknown): boolean {
  return err instanceof Error && /no such key/i.test(err.message);
}

export async function readStreamState(redis: RedisClient, key: string, call: Call): Promise<EventStreamState> {
  try {
    return decodeStreamInfo(await call(() => redis.xinfo('STREAM', key)));
  } catch (err) {
    if (isMissingStream(err)) return EMPTY_STREAM;
    throw err;
  }
}

/** XINFO and XREAD in one MULTI: the state describes exactly the stream the entries were read from. */
export async function readEventBatch(redis: RedisClient, key: string, after: string, count: number, call: Call): Promise<EventBatch> {
  const replies = await call(
    async () => (await redis.multi().xinfo('STREAM', key).xread('COUNT', count, 'STREAMS', key, after).exec()) ?? [],
  );
  const [[infoErr, info] = [null, null], [readErr, read] = [null, null]] = replies;
  if (infoErr && !isMissingStream(infoErr)) throw infoErr;
  if (readErr) throw readErr;
  return { ...decodeStreamInfo(infoErr ? null : info), entries: entriesOf(read as XreadReply) };
}

/** The server settings that decide whether accepted jobs survive a restart; null when CONFIG is refused. */
export async function readDurabilitySettings(redis: RedisClient, call: Call): Promise<DurabilitySettings | null> {
  try {
    const reply = (await call(() => redis.config('GET', 'appendonly', 'maxmemory-policy'))) as string[];
    const settings: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) settings[reply[i]!] = reply[i + 1]!;
    return { persistent: settings.appendonly === 'yes', evictionPolicy: settings['maxmemory-policy'] ?? null };
  } catch (err) {
    if (err instanceof BrokerUnavailableError) throw err;
    return null; // managed services often disable CONFIG
  }
}
