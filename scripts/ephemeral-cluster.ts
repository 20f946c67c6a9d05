import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { type EphemeralRedis, startEphemeralRedis, which } from './ephemeral-redis';

/**
 * A throwaway Redis Cluster on loopback for the tests and benchmarks: `masters` masters with
 * `replicas` replicas each, made with `redis-cli --cluster create`. Not part of the library.
 */
export interface EphemeralCluster {
  /** every node, masters and replicas, as `{ host, port }` seeds for a client */
  readonly nodes: { host: string; port: number }[];
  /** the connection option brokkr takes */
  readonly connection: { cluster: { host: string; port: number }[] };
  readonly servers: Map<number, EphemeralRedis>;
  /** ports of the nodes that are masters now (after a failover, the promoted replicas) */
  masters(): Promise<number[]>;
  /** the master that serves a key now */
  masterOf(key: string): Promise<number>;
  /** waits until every live node says cluster_state:ok and agrees on the masters */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EphemeralClusterOptions {
  masters?: number;
  replicas?: number;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over */
  nodeTimeoutMs?: number;
  appendOnly?: boolean;
}

export async function startEphemeralCluster(options: EphemeralClusterOptions = {}): Promise<EphemeralCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const count = masters * (1 + replicas);
  if (!which('redis-cli')) throw new Error('redis-cli was not found: install it (Debian/Ubuntu: sudo apt-get install -y redis-tools)');
  const servers = new Map<number, EphemeralRedis>();
  try {
    for (const port of await clusterPorts(count)) {
      const server = await startEphemeralRedis({
        port,
        appendOnly: options.appendOnly ?? false,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(options.nodeTimeoutMs ?? 2_000),
        ],
      });
      servers.set(port, server);
    }
    const ports = [...servers.keys()];
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  } catch (err) {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    throw err;
  }
  const nodes = [...servers.keys()].map((port) => ({ host: '127.0.0.1', port }));
  const ask = async <T>(port: number, f: (r: Redis) => Promise<T>): Promise<T | null> => {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await f(r);
    } catch {
      return null;
    } finally {
      r.disconnect();
    }
  };
  const live = () => [...servers.entries()].filter(([, s]) => s.process.exitCode === null && s.process.signalCode === null).map(([p]) => p);
  const cluster: EphemeralCluster = {
    nodes,
    connection: { cluster: nodes },
    servers,
    async masters() {
      const out: number[] = [];
      for (const port of live()) {
        const role = await ask(port, async (r) => ((await r.call('ROLE')) as [string])[0]);
        if (role === 'master') out.push(port);
      }
      return out;
    },
    async masterOf(key) {
      for (const port of live()) {
        const reply = await ask(port, async (r) => {
          const slot = (await r.call('CLUSTER', 'KEYSLOT', key)) as number;
          const slots = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
          return slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1] ?? null;
        });
        if (reply) return reply;
      }
      throw new Error(`no live node knows the master of ${key}`);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          live().map((port) => ask(port, async (r) => /cluster_state:ok/.test((await r.call('CLUSTER', 'INFO')) as string))),
        );
        const masterPorts = await cluster.masters();
        // every replica of every master is online: a WAIT right after start would time out otherwise
        const synced = await Promise.all(
          masterPorts.map((port) =>
            ask(port, async (r) => ((await r.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length >= replicas),
          ),
        );
        if (states.length > 0 && states.every(Boolean) && masterPorts.length === masters && synced.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`the cluster did not become healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    },
  };
  await cluster.waitHealthy();
  return cluster;
}

/** Ports p where p and p + 10000 (the cluster bus) are both free. */
async function clusterPorts(count: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (out.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) out.push(port);
  }
  return out;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
