import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { redisKeys } from '../../src/session/keys.js'
import { createRedisClient, createRedisStore, waitUntilReady } from '../../src/session/redis-store.js'
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { uniquePrefix } from '../support/redis.js'
import { TEST_SESSION_SECRET, TEST_TOKEN_KEY } from '../support/start-app.js'
import { describeKeyValueStore } from './store.contract.js'

// one real cluster (3 primaries, 3 replicas, requirepass) for this file; the broker's own client construction
let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startRedisCluster()
  console.info(`redis cluster started in ${cluster.startedInMs} ms`)
}, 30_000)
afterAll(() => cluster?.stop(), 15_000)

async function clusterStore() {
  const config = parseConfig(
    {
      publicUrl: 'http://127.0.0.1:1',
      redis: { cluster: { nodes: cluster.nodes.slice(0, 1) }, password: cluster.password },
      session: { secrets: [TEST_SESSION_SECRET] },
      tokens: { encryptionKeys: [TEST_TOKEN_KEY] },
      provider: { issuer: 'http://127.0.0.1:2', clientId: 'bff', clientSecret: 'secret' },
    },
    {},
  )
  const client = createRedisClient(config.redis)
  await waitUntilReady(client, 10_000)
  return { client, store: createRedisStore(client) }
}

describeKeyValueStore('redis-store on Redis Cluster', async () => {
  const { store } = await clusterStore()
  return { store, prefix: uniquePrefix('redis-cluster-contract'), close: () => store.close() }
})

describe('redis-store on Redis Cluster: the key layout', () => {
  it('when the keys of one login land in different slots, then every store operation on them works (none spans two keys)', async () => {
    const { client, store } = await clusterStore()
    const keys = redisKeys(uniquePrefix('redis-cluster-layout'))
    try {
      const all = [keys.session('s'), keys.grant('g'), keys.grantLock('g'), keys.loginTransaction('st'), keys.indexBySub('alice')]
      const slots = new Set(await Promise.all(all.map((k) => client.cluster('KEYSLOT', k))))
      expect(slots.size).toBeGreaterThan(1)
      await store.set(keys.session('s'), 'session', 60_000)
      await store.set(keys.grant('g'), 'grant', 60_000)
      expect(await store.setIfAbsent(keys.grantLock('g'), 'holder', 60_000)).toBe(true)
      expect(await store.expireIfEquals(keys.grantLock('g'), 'holder', 60_000)).toBe(true)
      await store.addToSet(keys.indexBySub('alice'), 's', 60_000)
      expect(await store.increment(keys.rateLimit('password', 1, 'h'), 60_000)).toBe(1)
      await store.del(keys.session('s'), keys.grant('g'), keys.indexBySub('alice'))
      expect(await store.delIfEquals(keys.grantLock('g'), 'holder')).toBe(true)
      expect(await Promise.all([store.get(keys.session('s')), store.get(keys.grant('g'))])).toEqual([undefined, undefined])
    } finally {
      await store.close()
    }
  })
})
