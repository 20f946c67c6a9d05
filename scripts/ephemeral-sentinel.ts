import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type EphemeralRedis, freePort, startEphemeralRedis } from './ephemeral-redis';

/**
 * A throwaway Redis with Sentinel on loopback, for tests: one master, two replicas (so that one is
 * left to replicate to after a failover) and three sentinels watching them under the name
 * `mymaster`. Not part of the library.
 */
export interface EphemeralSentinel {
  readonly name: string;
  readonly sentinels: { host: string; port: number }[];
  /** the connection option brokkr takes */
  readonly connection: { sentinels: { host: string; port: number }[]; name: string };
  /** data nodes (master and replica) by port */
  readonly servers: Map<number, EphemeralRedis>;
  /** the port of the master the sentinels name now */
  master(): Promise<number>;
  /** waits until the sentinels name a master other than `old`, and it answers as a master */
  waitForNewMaster(old: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startEphemeralSentinel(options: { downAfterMs?: number; replicas?: number } = {}): Promise<EphemeralSentinel> {
  const name = 'mymaster';
  const servers = new Map<number, EphemeralRedis>();
  const sentinelServers: EphemeralRedis[] = [];
  const stopAll = () => Promise.all([...servers.values(), ...sentinelServers].map((s) => s.stop()));
  try {
    const master = await startEphemeralRedis({ appendOnly: true });
    servers.set(master.port, master);
    for (let i = 0; i < (options.replicas ?? 2); i++) {
      const replica = await startEphemeralRedis({ appendOnly: true, args: ['--replicaof', '127.0.0.1', String(master.port)] });
      servers.set(replica.port, replica);
    }
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const sentinel = await startEphemeralRedis({
        port,
        configFile: (dir) => {
          const file = join(dir, 'sentinel.conf');
          writeFileSync(
            file,
            [
              `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
              `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
              `sentinel failover-timeout ${name} 5000`,
              `sentinel parallel-syncs ${name} 1`,
              '',
            ].join('\n'),
          );
          return file;
        },
        args: ['--sentinel'],
      });
      sentinelServers.push(sentinel);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const sentinels = sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const askSentinel = async (): Promise<number | null> => {
    for (const s of sentinels) {
      const r = new Redis({ ...s, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        const reply = (await r.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
        if (reply) return Number(reply[1]);
      } catch {
        // try the next sentinel
      } finally {
        r.disconnect();
      }
    }
    return null;
  };
  const handle: EphemeralSentinel = {
    name,
    sentinels,
    connection: { sentinels, name },
    servers,
    async master() {
      const port = await askSentinel();
      if (port === null) throw new Error('no sentinel names a master');
      return port;
    },
    async waitForNewMaster(old, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const port = await askSentinel();
        if (port !== null && port !== old) return port;
        if (Date.now() > deadline) throw new Error(`no failover away from ${old} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await stopAll();
    },
  };
  // the sentinels see the replica and each other before anything else happens
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = new Redis(sentinels[0]!);
    r.on('error', () => undefined);
    const info = (await r.call('SENTINEL', 'master', name).catch(() => [])) as string[];
    r.disconnect();
    const field = (k: string) => Number(info[info.indexOf(k) + 1] ?? 0);
    // and the replica is in sync: a WAIT would time out during its first full sync
    const m = new Redis(field('port') || 1);
    m.on('error', () => undefined);
    const online = (await m.info('replication').catch(() => '')).match(/^slave\d+:.*state=online/gm) ?? [];
    const synced = online.length >= (options.replicas ?? 2);
    m.disconnect();
    if (field('num-slaves') >= (options.replicas ?? 2) && field('num-other-sentinels') >= 2 && synced) break;
    if (Date.now() > deadline) {
      await stopAll();
      throw new Error('the sentinels did not find the replica and each other within 20 s');
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  return handle;
}
