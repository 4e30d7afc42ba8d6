import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { startRedisServer, type RedisServer } from '../../support/redis.js'
import { mobileClient, mobileConfig, mobileLogin } from '../../support/mobile.js'

// The API hot path's Redis reads: once the session's grant id is known, the session record and its sealed grant are
// read with one MGET (one command for Redis to run, one reply to parse), not two GETs. A dedicated redis-server,
// so its command statistics count this broker's commands only.

let redis: RedisServer
let stats: Redis
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  redis = await startRedisServer()
  stats = new Redis(redis.url)
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'hot-path-reads',
    redisUrl: redis.url,
    config: { apis: [{ path: '/api', target: `${url}/echo`, token: 'user' }], mobile: mobileConfig() },
  })))
})
afterAll(async () => {
  await stop()
  stats.disconnect()
  await redis.stop()
})

/** calls per command name since the last reset, e.g. { get: 2, mget: 1 } */
async function commandCalls(): Promise<Record<string, number>> {
  const info = await stats.info('commandstats')
  const calls: Record<string, number> = {}
  for (const [, name, n] of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls[name as string] = Number(n)
  return calls
}

describe('API hot path reads', () => {
  it('when a logged-in SPA calls an API again, then its session and grant are read with one MGET per call', async () => {
    const b = createBrowser()
    await login(b, broker)
    const call = () => b.get(`${broker.origin}/api/x`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect((await call()).status).toBe(200) // the first call learns the session's grant id
    await stats.config('RESETSTAT')
    for (let i = 0; i < 3; i++) expect((await call()).status).toBe(200)
    const calls = await commandCalls()
    expect(calls.mget).toBe(3)
    expect(calls.get).toBeUndefined()
  })

  it('when a mobile app calls an API with its DPoP handle, then one MGET and the proof\'s SET NX per call', async () => {
    const app = mobileClient(broker)
    await mobileLogin(broker, app)
    expect((await app.fetch('/api/x')).status).toBe(200)
    await stats.config('RESETSTAT')
    for (let i = 0; i < 3; i++) expect((await app.fetch('/api/x')).status).toBe(200)
    const calls = await commandCalls()
    expect(calls.mget).toBe(3)
    expect(calls.get).toBeUndefined()
    expect(calls.set).toBe(3)
  })
})
