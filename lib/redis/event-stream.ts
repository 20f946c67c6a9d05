import type { DurabilitySettings, EventCursor } from '../broker';
import { BrokerUnavailableError } from '../errors';
import type { RedisClient } from './connection';
import { decodeStreamEvent, type StreamEvent } from '../event-codec';

/** Reading a queue's event stream and the server's settings: the parts of RedisBroker that only parse. */

/** XREAD's reply as decoded job events, and the cursor past the last entry read (even one skipped). */
export function decodeXread(
  reply: [string, [string, string[]][]][] | null,
  cursor: EventCursor,
): { cursor: EventCursor; events: StreamEvent[] } {
  const events: StreamEvent[] = [];
  let last: string = cursor;
  for (const [, entries] of reply ?? []) {
    for (const [id, flat] of entries) {
      last = id;
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      const event = decodeStreamEvent(fields);
      if (event) events.push(event);
    }
  }
  return { cursor: last as EventCursor, events };
}

/** True once `cursor` is at or past `target` (stream ids: ms-seq). */
export function cursorReached(cursor: EventCursor, target: EventCursor): boolean {
  const [cm = 0, cs = 0] = cursor.split('-').map(Number);
  const [tm = 0, ts = 0] = target.split('-').map(Number);
  return cm !== tm ? cm > tm : cs >= ts;
}

/** The server settings that decide whether accepted jobs survive a restart; null when CONFIG is refused. */
export async function readDurabilitySettings(
  redis: RedisClient,
  call: <T>(operation: () => Promise<T>) => Promise<T>,
): Promise<DurabilitySettings | null> {
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
