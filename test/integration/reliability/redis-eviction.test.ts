import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { startRedisServer, type RedisServer } from '../../support/redis.js'
import { unsignSessionCookie } from '../../../src/session/http-session.js'
import { createLogger } from '../../../src/observability/logger.js'
import { checkEvictionPolicy } from '../../../src/session/eviction-policy.js'

// A Redis whose maxmemory-policy evicts keys (allkeys-lru here) drops live sessions when it fills up: the broker
// warns about the policy at start, and a session that was evicted (record or grant) is a 401, never a 500.
let redis: RedisServer
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'] })
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'redis-eviction',
    redisUrl: redis.url,
    config: { apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }] },
  })))
})
afterAll(async () => {
  await stop?.()
  await redis?.stop()
})

const xhr = { xhr: true, headers: { 'x-csrf': '1' } }

/** ~20 MB of 1 KB values, command by command, so Redis evicts before each write (10× maxmemory). */
async function fill(client: Redis) {
  for (let batch = 0; batch < 20; batch++) {
    const pipeline = client.pipeline()
    for (let i = 0; i < 1000; i++) pipeline.set(`fill:${batch}:${i}`, 'x'.repeat(1000))
    await pipeline.exec()
  }
}

describe('a Redis that evicts keys', () => {
  it('when maxmemory-policy is allkeys-lru, then the broker warns at start and recommends noeviction', async () => {
    await expect.poll(() => broker.logs.find((line) => line.includes('"event":"redis.eviction_policy"'))).toBeDefined()
    const line = JSON.parse(broker.logs.find((l) => l.includes('"event":"redis.eviction_policy"'))!) as Record<string, unknown>
    expect(line).toMatchObject({ level: 'warn', policy: 'allkeys-lru' })
    expect(String(line.msg)).toContain('noeviction')
  })

  it('when CONFIG GET is refused (managed Redis), then the check says it could not check', async () => {
    const client = new Redis(redis.url)
    await client.call('ACL', 'SETUSER', 'limited', 'on', 'nopass', '~*', '+@all', '-config')
    const limited = new Redis(redis.url, { username: 'limited', password: 'x' })
    const lines: string[] = []
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } as never })
    try {
      expect(await checkEvictionPolicy(limited, logger)).toBe('unknown')
      expect(lines.join('')).toContain('could not read Redis maxmemory-policy')
    } finally {
      limited.disconnect()
      client.disconnect()
    }
  })

  it('when Redis fills up and evicts live sessions, then their requests get 401 and nothing answers 500', async () => {
    const browsers: Browser[] = []
    for (let i = 0; i < 5; i++) {
      const b = createBrowser()
      await login(b, broker)
      expect((await b.get(`${broker.origin}/api/orders/1`, xhr)).status).toBe(200)
      browsers.push(b)
    }
    const client = new Redis(redis.url)
    try {
      await fill(client)
      let evicted = 0
      for (const b of browsers) {
        const id = unsignSessionCookie(b.cookie(broker.origin, broker.config.session.cookieName)!, broker.config.session.secrets)!
        const gone = (await client.exists(`${broker.prefix}sess:${id}`)) === 0
        const user = await b.get(`${broker.origin}/bff/user`, xhr)
        const api = await b.get(`${broker.origin}/api/orders/1`, xhr)
        expect([user.status, api.status].filter((s) => s >= 500)).toEqual([])
        if (gone) {
          evicted++
          expect([user.status, api.status]).toEqual([401, 401])
        } else {
          expect([200, 401]).toContain(api.status)
        }
      }
      expect(evicted).toBeGreaterThan(0)
      // and the store is usable: a new login works
      const fresh = createBrowser()
      expect((await login(fresh, broker)).res.status).toBe(302)
      expect((await fresh.get(`${broker.origin}/api/orders/1`, xhr)).status).toBe(200)
    } finally {
      client.disconnect()
    }
  })
})
