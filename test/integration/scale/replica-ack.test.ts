import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createRedisStore, isStoreUnavailableError } from '../../../src/session/redis-store.js'
import type { KeyValueStore } from '../../../src/session/store.js'
import { makeTempDir, startRedisServer, uniquePrefix, type RedisServer } from '../../support/redis.js'

// a primary and one replica of it, no Sentinel: the store's write path alone (DEBUG lets the test freeze the replica)
let primary: RedisServer
let replica: RedisServer
let client: Redis
let replicaClient: Redis
let store: KeyValueStore
const prefix = uniquePrefix('replica-ack')

beforeAll(async () => {
  primary = await startRedisServer()
  replica = await startRedisServer({
    // the full sync's RDB file goes to a temp dir, not the working directory
    args: ['--dir', makeTempDir('replica-ack'), '--replicaof', '127.0.0.1', String(primary.port), '--enable-debug-command', 'yes', '--repl-diskless-sync-delay', '0'],
  })
  replicaClient = new Redis(replica.url)
  for (let deadline = Date.now() + 10_000; !(await replicaClient.info('replication')).includes('master_link_status:up');) {
    if (Date.now() > deadline) throw new Error('replica not in sync after 10 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  client = new Redis(primary.url, { commandTimeout: 2000, enableOfflineQueue: false })
  await new Promise((resolve) => client.once('ready', resolve))
  // and the primary's own view: it counts a replica once ROLE lists it (what the store's write path asks)
  for (let deadline = Date.now() + 10_000; (((await client.role()) as unknown[])[2] as unknown[]).length === 0;) {
    if (Date.now() > deadline) throw new Error('the primary does not list its replica after 10 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  store = createRedisStore(client, { replicas: 1, timeoutMs: 300 })
}, 30_000)
afterAll(async () => {
  await store?.close()
  replicaClient?.disconnect()
  await replica?.stop()
  await primary?.stop()
})

describe('session and grant writes acknowledged by a replica (WAIT)', () => {
  it('when the replica acknowledges, then setReplicated resolves only once the replica holds the value, at a cost of a few hundred microseconds', async () => {
    await store.setReplicated(`${prefix}g`, 'v1', 60_000)
    // no wait, no poll: the acknowledgement means the replica has it
    expect(await replicaClient.get(`${prefix}g`)).toBe('v1')
    await store.delReplicated(`${prefix}g`)
    expect(await replicaClient.exists(`${prefix}g`)).toBe(0)

    const n = 200
    const time = async (write: (i: number) => Promise<void>) => {
      const started = process.hrtime.bigint()
      for (let i = 0; i < n; i++) await write(i)
      return Number(process.hrtime.bigint() - started) / n / 1000
    }
    const plain = await time((i) => store.set(`${prefix}p${i}`, 'x', 60_000))
    const acked = await time((i) => store.setReplicated(`${prefix}a${i}`, 'x', 60_000))
    console.info(`SET ${plain.toFixed(0)} µs, SET acknowledged by the replica ${acked.toFixed(0)} µs (mean of ${n}, loopback)`)
    expect(acked).toBeLessThan(plain + 5000)
  })

  it('when the replica stops acknowledging, then the write rejects with a store outage (503) after the timeout, never a false success', async () => {
    // the replica stays connected but answers nothing for 1 s
    const frozen = replicaClient.call('DEBUG', 'SLEEP', '1')
    const started = Date.now()
    const failure = await store.setReplicated(`${prefix}frozen`, 'v', 60_000).then(() => undefined, (err: unknown) => err)
    expect(failure).toBeInstanceOf(Error)
    expect(isStoreUnavailableError(failure)).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(Date.now() - started).toBeLessThan(1500)
    await frozen
    // reads on the request path never queued behind the blocked WAIT
    expect(await store.get(`${prefix}frozen`)).toBe('v')
  })

  it('when the primary has no replica connected (its replica is gone), then a write counts at once: nothing is there to be promoted without it', async () => {
    await replica.stop()
    await expect.poll(async () => ((await client.role()) as unknown[])[2], { timeout: 10_000 }).toEqual([])
    const started = Date.now()
    await store.setReplicated(`${prefix}alone`, 'v', 60_000)
    expect(Date.now() - started).toBeLessThan(250)
    expect(await store.get(`${prefix}alone`)).toBe('v')
  })
})
