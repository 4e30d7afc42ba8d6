import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createBrowser, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin } from '../../support/browser.js'
import { startRedisServer, type RedisServer } from '../../support/redis.js'

// A Redis that is full refuses writes with "OOM command not allowed" (maxmemory with the noeviction policy)
let redis: RedisServer
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] })
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'redis-full', redisUrl: redis.url }))
})
afterAll(async () => {
  await stop()
  await redis.stop()
})

/** Writes past maxmemory in one script (the OOM check runs before a script, not inside it). */
async function fill(): Promise<() => Promise<void>> {
  const client = new Redis(redis.url)
  await client.eval(`for i = 1, 4000 do redis.call('set', 'fill:' .. i, string.rep('x', 1000)) end return 1`, 0)
  return async () => {
    await client.flushall()
    client.disconnect()
  }
}

describe('a full Redis on the login path (invariant 8)', () => {
  it('when Redis is full, then /bff/login and the callback answer 503 (a page for navigations, JSON for fetch), never 500, and logins work again once it has room', async () => {
    const b = createBrowser()
    const pending = await b.get(`${broker.origin}/bff/login`)
    expect(pending.status).toBe(302)
    const callback = await completeProviderLogin(b, pending.location!)
    const release = await fill()
    try {
      const page = await b.get(`${broker.origin}/bff/login`)
      expect(page.status).toBe(503)
      expect(page.headers['content-type']).toMatch(/^text\/html/)
      const xhr = await b.get(`${broker.origin}/bff/login`, { xhr: true })
      expect(xhr.status).toBe(503)
      expect(JSON.parse(xhr.body)).toMatchObject({ error: 'session_store_unavailable' })
      expect((await b.get(callback, { site: 'cross-site' })).status).toBe(503)
    } finally {
      await release()
    }
    expect((await b.get(`${broker.origin}/bff/login`)).status).toBe(302)
  })

  it('when Redis is full, then /bff/login fails without a stack trace or an internal detail in the answer', async () => {
    const release = await fill()
    try {
      const res = await createBrowser().get(`${broker.origin}/bff/login`, { xhr: true })
      expect(res.status).toBeGreaterThanOrEqual(500)
      expect(res.body).not.toMatch(/OOM|maxmemory|at \w+ \(|node_modules/)
    } finally {
      await release()
    }
  })
})
