import { Redis, Cluster } from 'ioredis'
import type { RedisConfig } from '../config/types.js'
import type { KeyValueStore } from './store.js'
import { redisClientPlan } from './redis-options.js'

export type RedisClient = Redis | Cluster

/** The one ioredis client of the broker: a single node, Sentinel or Cluster (options: redis-options.ts). */
export function createRedisClient(config: RedisConfig): RedisClient {
  const plan = redisClientPlan(config)
  if (plan.kind === 'cluster') return new Cluster(plan.nodes, plan.options)
  if (plan.kind === 'sentinel') return new Redis(plan.options)
  return new Redis(plan.url, plan.options)
}

/** Resolves once the client is ready, or rejects after `timeoutMs` (the broker still starts: /readyz says 503). */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new Error('redis not ready'))
    }, timeoutMs)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}

const DEL_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
const EXPIRE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`
// the set's TTL only ever grows: a short browser session must not shorten the entry of a 90-day mobile session
const ADD_EXTENDING_TTL = `redis.call('sadd', KEYS[1], ARGV[1]) if redis.call('pttl', KEYS[1]) < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end return 1`
const INCR_WITH_TTL = `local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n`

/** A connection or timeout failure of the store (as opposed to a bug): the request answers 503. */
export function isStoreUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|enableOfflineQueue|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Redis is not available/i.test(
      err.message,
    )
  )
}

export function createRedisStore(client: RedisClient): KeyValueStore {
  return {
    async ping() {
      await client.ping()
    },
    isAvailable: () => client.status === 'ready',
    async get(key) {
      return (await client.get(key)) ?? undefined
    },
    async set(key, value, ttlMs) {
      await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
    },
    async take(key) {
      return (await client.getdel(key)) ?? undefined
    },
    async swap(key, value) {
      const old = (await client.call('set', key, value, 'XX', 'KEEPTTL', 'GET')) as string | null
      return old ?? undefined
    },
    async del(...keys) {
      // one DEL per key: in a cluster the keys may live in different slots
      if (keys.length) await Promise.all(keys.map((k) => client.del(k)))
    },
    async delIfEquals(key, value) {
      return (await client.eval(DEL_IF_EQUALS, 1, key, value)) === 1
    },
    async expireIfEquals(key, value, ttlMs) {
      return (await client.eval(EXPIRE_IF_EQUALS, 1, key, value, String(Math.ceil(ttlMs)))) === 1
    },
    async addToSet(key, member, ttlMs) {
      await client.eval(ADD_EXTENDING_TTL, 1, key, member, String(Math.ceil(ttlMs)))
    },
    async removeFromSet(key, member) {
      await client.srem(key, member)
    },
    async setMembers(key) {
      return client.smembers(key)
    },
    async increment(key, ttlMs) {
      return Number(await client.eval(INCR_WITH_TTL, 1, key, String(Math.ceil(ttlMs))))
    },
    async close() {
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    },
  }
}
