import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createRedisStore } from '../../src/session/redis-store.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../support/redis.js'
import { describeKeyValueStore } from './store.contract.js'

describeKeyValueStore('redis-store', async () => {
  const client = new Redis(redisUrl())
  const store = createRedisStore(client)
  return { store, prefix: uniquePrefix('redis-store-contract'), close: () => store.close() }
})

describe('redis-store on a real Redis', () => {
  it('when every kind of write has run, then every key it left has a TTL (invariant 14)', async () => {
    const prefix = uniquePrefix('redis-store-ttl')
    const store = createRedisStore(new Redis(redisUrl()))
    try {
      await store.set(`${prefix}set`, 'v', 60_000)
      await store.setIfAbsent(`${prefix}nx`, 'v', 60_000)
      await store.set(`${prefix}lease`, 'h', 1000)
      await store.expireIfEquals(`${prefix}lease`, 'h', 60_000)
      await store.addToSet(`${prefix}members`, 'm', 60_000)
      await store.increment(`${prefix}counter`, 60_000)
      await store.increment(`${prefix}counter`, 60_000)
      const keys = await keysWithPrefix(redisUrl(), prefix)
      expect(keys).toHaveLength(5)
      for (const { key, ttlMs } of keys) expect({ key, expires: ttlMs > 1000 }).toEqual({ key, expires: true })
    } finally {
      await store.close()
    }
  })
})
