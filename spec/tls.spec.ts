import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ErrorCodes, Queue, Supervisor } from '../lib';
import { type EphemeralRedis, freePort, startEphemeralRedis } from '../scripts/ephemeral-redis';
import { makeTestCerts, type TestCerts } from '../scripts/test-certs';
import { fixture, memoryLogger, uniqueQueue } from './support/helpers';

/** TLS: a redis-server with --tls-port and certificates made by openssl for this test. */
let certs: TestCerts;
let redis: EphemeralRedis;
let tlsPort: number;
beforeAll(async () => {
  certs = makeTestCerts();
  tlsPort = await freePort();
  redis = await startEphemeralRedis({
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'optional',
    ],
  });
});
afterAll(async () => {
  await redis.stop();
  rmSync(certs.dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('runs jobs over TLS with a CA and a client certificate given as ioredis options', async () => {
    const tls = {
      ca: readFileSync(certs.ca),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      servername: 'localhost',
    };
    const connection = { host: '127.0.0.1', port: tlsPort, tls };
    const name = uniqueQueue('tls');
    const queue = new Queue(name, { connection });
    const sup = new Supervisor({ connection, queues: [name], threads: 1, handlers: { echo: fixture('echo') }, logger: memoryLogger() });
    try {
      await sup.start();
      const job = await queue.enqueue('echo', 'over TLS');
      await expect(queue.waitForResult(job.id, { timeoutMs: 10_000 })).resolves.toMatchObject({ data: 'over TLS' });
      // the server saw TLS clients: the plain port was not used
      const admin = new Redis(redis.url);
      const clients = ((await admin.client('LIST')) as string).split('\n').filter((l) => l.includes(`name=brokkr:queue:${name}`));
      admin.disconnect();
      expect(clients.length).toBeGreaterThan(0);
      expect(clients.every((l) => l.includes(`laddr=127.0.0.1:${tlsPort}`))).toBe(true);
    } finally {
      await sup.close();
      await queue.close();
    }
  });

  it('takes a rediss:// URL (its CA trusted through NODE_EXTRA_CA_CERTS)', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(__dirname, 'support', 'tls-roundtrip.ts'), `rediss://127.0.0.1:${tlsPort}`],
        {
          cwd: join(__dirname, '..'),
          env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.ca },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '"over rediss://"' });
  });

  it('a server whose certificate is not trusted is refused with a clear BrokerUnavailableError', async () => {
    const queue = new Queue(uniqueQueue('tls'), { connection: { host: '127.0.0.1', port: tlsPort, tls: {} }, brokerWaitMs: 500 });
    try {
      await expect(queue.enqueue('echo', 1)).rejects.toMatchObject({
        code: ErrorCodes.BROKER_UNAVAILABLE,
        message: expect.stringMatching(/certificate/),
      });
    } finally {
      await queue.close();
    }
  });
});
