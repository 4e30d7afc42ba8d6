import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import type { Browser, BrowserResponse } from '../../support/browser.js'
import { startRedisServer, type RedisServer } from '../../support/redis.js'

// Invariant 8: Redis down → /readyz 503, session routes 503 JSON, the process stays up and recovers by itself.
// This file takes a dedicated redis-server down and back up on the same port; the shared one is left alone.

let redis: RedisServer
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  redis = await startRedisServer()
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'redis-down', redisUrl: redis.url }))
})
afterAll(async () => {
  await stop?.()
  await redis?.stop()
})

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
const readyz = (b: Browser) => b.get(`${broker.origin}/readyz`, { xhr: true })

/** The response and how long it took, so "fails fast" is asserted, not assumed. */
async function timed(call: () => Promise<BrowserResponse>): Promise<{ res: BrowserResponse; ms: number }> {
  const started = Date.now()
  const res = await call()
  return { res, ms: Date.now() - started }
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

describe('Redis down (invariant 8)', () => {
  it('when Redis stops, then readyz is 503, session routes answer 503 session_store_unavailable fast, and the broker recovers when Redis is back', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await user(b)).status).toBe(200)
    expect((await readyz(b)).status).toBe(200)

    await redis.stop()

    const ready = await timed(() => readyz(b))
    expect(ready.res.status).toBe(503)
    expect(JSON.parse(ready.res.body)).toMatchObject({ status: 'not_ready', redis: false, provider: true })
    expect(ready.ms).toBeLessThan(3000)

    const health = await b.get(`${broker.origin}/healthz`, { xhr: true })
    expect(health.status).toBe(200)

    // twice: the first call may race the client noticing the closed socket, the second runs on a known-down link
    for (let i = 0; i < 2; i++) {
      const me = await timed(() => user(b))
      expect(me.res.status).toBe(503)
      expect(me.res.headers['content-type']).toMatch(/application\/json/)
      expect(JSON.parse(me.res.body)).toMatchObject({ error: 'session_store_unavailable' })
      expect(me.ms).toBeLessThan(3000)
    }

    const start = await timed(() => b.get(`${broker.origin}/bff/login?returnTo=/`))
    expect(start.res.status).toBe(503)
    expect(start.res.location).toBeUndefined()
    expect(start.res.body).toContain('session_store_unavailable')
    expect(start.ms).toBeLessThan(3000)

    const startXhr = await b.get(`${broker.origin}/bff/login`, { xhr: true })
    expect(startXhr.status).toBe(503)
    expect(JSON.parse(startXhr.body)).toMatchObject({ error: 'session_store_unavailable' })

    // the process is still up and still listening
    expect(broker.server.listening).toBe(true)
    expect((await b.get(`${broker.origin}/healthz`, { xhr: true })).status).toBe(200)

    await redis.start()
    await eventually(async () => (await readyz(b)).status === 200, 10_000)
    expect(JSON.parse((await readyz(b)).body)).toMatchObject({ status: 'ready', redis: true, provider: true })

    // the restarted Redis has no persistence: the old session is gone (401, not 503), a new login works
    expect((await user(b)).status).toBe(401)
    const again = createBrowser()
    const { res } = await login(again, broker)
    expect(res.status).toBe(302)
    const me = await user(again)
    expect(me.status).toBe(200)
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice' })
    await Promise.all([b.close(), again.close()])
  }, 30_000)

  it('when Redis stalls past the command timeout, then /bff/user answers 503 within ~3 s and the same session works again afterwards', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await user(b)).status).toBe(200)

    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true })
    await admin.connect()
    try {
      // every client, the broker's included, gets no answer for 4 s (longer than the 2 s command timeout)
      await admin.call('CLIENT', 'PAUSE', '4000', 'ALL')
      const paused = Date.now()

      const me = await timed(() => user(b))
      expect(me.res.status).toBe(503)
      expect(JSON.parse(me.res.body)).toMatchObject({ error: 'session_store_unavailable' })
      expect(me.ms).toBeLessThan(3000)
      // it answered before Redis did: a timeout, not a hang until the pause ended
      expect(Date.now() - paused).toBeLessThan(4000)

      await eventually(async () => (await user(b)).status === 200, 8000)
      const after = await user(b)
      expect(after.status).toBe(200)
      expect(JSON.parse(after.body)).toMatchObject({ sub: 'alice' })
    } finally {
      admin.disconnect()
      await b.close()
    }
  }, 20_000)
})
