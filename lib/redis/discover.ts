import { once } from 'node:events';
import { Cluster, type Redis } from 'ioredis';
import type { ConnectionOptions } from '../config';
import { BrokerUnavailableError } from '../errors';
import { createConnection, disconnect } from './connection';
import { queueKeyPatterns, registryKeys } from './keys';

/** How long discovery waits for a cluster client to learn the slots. */
const CLUSTER_READY_MS = 6_000;

/**
 * The queues under a prefix, found by their keys, since brokkr keeps no list of queues. Every
 * status a job can be in is a sorted set of its queue (`<prefix>:{<queue>}:<status>`), and a
 * queue's settings (pause, limits) live in its `control` hash: two SCANs per master find every
 * queue that holds a job or a setting without listing the job records themselves. A SCAN walks the
 * whole keyspace, so this costs O(keys) on the server in small steps; naming the queues avoids it.
 */
export async function discoverQueues(target: { connection: ConnectionOptions; prefix: string }): Promise<string[]> {
  const client = createConnection(target.connection, 'command', `${target.prefix}:discover`, {
    commandTimeoutMs: 5_000,
    retryMaxDelayMs: 1_000,
  });
  try {
    const nodes = client instanceof Cluster ? await clusterMasters(client) : [client];
    const patterns = queueKeyPatterns(target.prefix);
    const found = new Set<string>();
    const registry = registryKeys(target.prefix).index; // the supervisors' index is a zset, but no queue's
    for (const node of nodes) {
      for (const key of await scanAll(node, patterns.anyKey, 'zset')) if (key !== registry) found.add(patterns.queueOf(key));
      for (const key of await scanAll(node, patterns.control)) found.add(patterns.queueOf(key));
    }
    found.delete('');
    return [...found].sort();
  } finally {
    await disconnect(client);
  }
}

async function clusterMasters(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status !== 'ready') {
    const timeout = AbortSignal.timeout(CLUSTER_READY_MS);
    await once(cluster, 'ready', { signal: timeout }).catch(() => {
      throw new BrokerUnavailableError('the Redis Cluster did not become ready in time to list its queues');
    });
  }
  return cluster.nodes('master');
}

async function scanAll(node: Redis, pattern: string, type?: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = type
      ? await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', type)
      : await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
