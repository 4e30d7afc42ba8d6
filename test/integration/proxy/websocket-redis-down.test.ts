import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { startRedisServer, type RedisServer } from '../../support/redis.js'
import { openWebSocket } from '../../support/websocket.js'

// The session check of open WebSocket tunnels fails open: Redis being down is not a logout. This file takes a
// dedicated redis-server down and back up; the shared one is left alone.

let redis: RedisServer
let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  redis = await startRedisServer()
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
    name: 'websocket-redis-down',
    redisUrl: redis.url,
    // checks run only when the test says so
    config: { apis: [{ path: '/api/ws', target: `${url}/ws`, token: 'user', websocket: true }], session: { websocketCheckSeconds: 3600 } },
  })))
})
afterAll(async () => {
  await stop?.()
  await redis?.stop()
})

describe('WebSocket tunnels while Redis is down', () => {
  it('when a check fails because Redis is down, then the tunnel stays open, the failure is logged, and the next check that succeeds decides', async () => {
    const user = createBrowser()
    await login(user, broker)
    const cookie = `bff-session=${user.cookie(broker.origin, 'bff-session')}`
    const ws = await openWebSocket(`${broker.origin}/api/ws/feed`, { Origin: broker.origin, Cookie: cookie })
    try {
      expect(ws.status).toBe(101)
      await ws.roundTrip('before')

      await redis.stop()
      await broker.broker.sessionWatch.sweep()
      await broker.broker.sessionWatch.sweep()
      await ws.roundTrip('while redis is down')
      expect(ws.isClosed()).toBe(false)
      expect(broker.logs.filter((l) => l.includes('"proxy.websocket_session_check_failed"')).length).toBe(2)

      // the restarted server has no data (no persistence): the session is gone, so once a check gets through the
      // tunnel closes
      await redis.start()
      await expect
        .poll(async () => { await broker.broker.sessionWatch.sweep(); return ws.isClosed() }, { timeout: 10_000, interval: 200 })
        .toBe(true)
    } finally {
      ws.destroy()
    }
  })
})
