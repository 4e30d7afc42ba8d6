import { execFile, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load.js'
import { createRedisClient, createRedisStore, waitUntilReady } from '../../../src/session/redis-store.js'
import { distinctFreePorts, makeTempDir, removeTempDir, spawnRedisProcess, stopRedisProcess } from '../../support/redis.js'
import { TEST_SESSION_SECRET, TEST_TOKEN_KEY } from '../../support/start-app.js'

const openssl = promisify(execFile)
const password = 'tls-test-password'
let dir: string
let server: ChildProcess
let tlsPort: number

// a throwaway CA and a server certificate for the name redis.test only (not for 127.0.0.1)
async function makeCertificates(): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca'], { cwd: dir })
  await openssl('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=redis.test'], { cwd: dir })
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:redis.test\n')
  await openssl('openssl', [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext',
  ], { cwd: dir })
}

beforeAll(async () => {
  dir = makeTempDir('redis-tls')
  await makeCertificates()
  const [plainPort, port] = await distinctFreePorts(2)
  tlsPort = port!
  // the plain port only tells the test when the server is up; the broker talks TLS
  server = await spawnRedisProcess(plainPort!, [
    '--port', String(plainPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
    '--tls-port', String(tlsPort), '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key',
    '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no', '--requirepass', password,
  ], { cwd: dir })
}, 20_000)
afterAll(async () => {
  if (server) await stopRedisProcess(server)
  if (dir) removeTempDir(dir)
})

function storeFor(tls: Record<string, unknown> | boolean) {
  const config = parseConfig(
    {
      publicUrl: 'http://127.0.0.1:1',
      redis: { url: `rediss://127.0.0.1:${tlsPort}`, password, tls },
      session: { secrets: [TEST_SESSION_SECRET] },
      tokens: { encryptionKeys: [TEST_TOKEN_KEY] },
      provider: { issuer: 'http://127.0.0.1:2', clientId: 'bff', clientSecret: 'secret' },
    },
    {},
  )
  const client = createRedisClient(config.redis)
  client.on('error', () => undefined)
  return { client, store: createRedisStore(client) }
}

describe('redis.tls on a real TLS Redis', () => {
  it('when redis.tls names the CA and the server name, then the broker connects over TLS with the password', async () => {
    const { client, store } = storeFor({ ca: join(dir, 'ca.pem'), servername: 'redis.test' })
    try {
      await waitUntilReady(client, 5000)
      await store.set('t:tls:probe', 'ok', 10_000)
      expect(await store.get('t:tls:probe')).toBe('ok')
    } finally {
      await store.close()
    }
  })

  it('when the CA is not given, then the certificate is refused and the client never becomes ready', async () => {
    const { client, store } = storeFor(true)
    try {
      await expect(waitUntilReady(client, 1500)).rejects.toThrow('redis not ready')
    } finally {
      await store.close()
    }
  })
})
