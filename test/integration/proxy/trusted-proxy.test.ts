import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { openWebSocket } from '../../support/websocket.js'

// trustProxy naming subnets: the API routes take the same one entry as with any other trustProxy; proxy-addr's rules
// (as express applies them) read X-Forwarded-For
let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'trusted-proxy',
    config: {
      trustProxy: 'loopback',
      apis: [{ path: '/api/orders', target: `${url}/echo` }, { path: '/api/ws', target: `${url}/ws`, websocket: true }],
    },
  })))
})
afterAll(() => stop())

describe('API routes behind a trusted reverse proxy (trustProxy: loopback)', () => {
  it('when a call comes through the trusted proxy, then the client address it names is forwarded and the token attached', async () => {
    const b = createBrowser()
    await login(b, broker)
    const res = await b.get(`${broker.origin}/api/orders/1`, { xhr: true, headers: { 'x-csrf': '1', 'x-forwarded-for': '203.0.113.7' } })
    expect(res.status).toBe(200)
    const seen = upstream.requests.at(-1)!
    const { grant } = await readSessionGrant(broker, b)
    expect(seen.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1')
    expect(seen.headers.forwarded).toBe('for=203.0.113.7, for=127.0.0.1;proto=http;host="' + new URL(broker.origin).host + '"')
    expect(seen.headers.cookie).toBeUndefined()
  })

  it('when the CSRF header or the session is missing, then 403 or 401 JSON and the upstream is never called', async () => {
    const before = upstream.requests.length
    const b = createBrowser()
    await login(b, broker)
    const noCsrf = await b.get(`${broker.origin}/api/orders/1`, { xhr: true })
    expect([noCsrf.status, JSON.parse(noCsrf.body).error]).toEqual([403, 'csrf_failed'])
    const noSession = await createBrowser().get(`${broker.origin}/api/orders/1`, { headers: { 'x-csrf': '1' } })
    expect([noSession.status, JSON.parse(noSession.body).error]).toEqual([401, 'unauthorized'])
    expect(noSession.headers['x-content-type-options']).toBe('nosniff')
    expect(upstream.requests.length).toBe(before)
  })

  it('when a WebSocket handshake comes through the trusted proxy, then the client address it names reaches the upstream too', async () => {
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    const ws = await openWebSocket(`${broker.origin}/api/ws/feed`, { Origin: broker.origin, Cookie: cookie, 'X-Forwarded-For': '203.0.113.8' })
    try {
      expect(ws.status).toBe(101)
      expect(upstream.requests.filter((r) => r.upgrade).at(-1)?.headers['x-forwarded-for']).toBe('203.0.113.8, 127.0.0.1')
    } finally {
      ws.destroy()
    }
  })

  it('when a WebSocket handshake has no session, then the one writer answers 401 JSON and logs it once', async () => {
    const from = broker.logs.length
    const ws = await openWebSocket(`${broker.origin}/api/ws/feed`, { Origin: broker.origin })
    ws.destroy()
    expect(ws.status).toBe(401)
    const failed = broker.logs.slice(from).map((l) => JSON.parse(l) as { event?: string; path?: string; error?: string })
      .filter((l) => l.path === '/api/ws/feed')
    expect(failed).toEqual([expect.objectContaining({ event: 'http.request_failed', error: 'unauthorized' })])
  })
})
