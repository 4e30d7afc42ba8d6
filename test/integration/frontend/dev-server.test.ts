import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { openWebSocket } from '../../support/websocket.js'

// frontend.target: `npm run dev` behind the broker. The echo upstream stands in for the dev server: it answers
// /echo… with what it received and tunnels WebSocket upgrades (hot reload) as an echo.
let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
const APP_CSP = "default-src 'self'; connect-src 'self' ws://127.0.0.1; frame-ancestors 'none'"

beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'frontend-dev-server',
    config: {
      apis: [{ path: '/api/echo', target: `${url}/echo` }],
      frontend: { target: url, contentSecurityPolicy: APP_CSP },
    },
  })))
})
afterAll(() => stop())

const sessionCookie = (b: ReturnType<typeof createBrowser>) => `bff-session=${b.cookie(broker.origin, 'bff-session')}`

describe('frontend.target', () => {
  it('when a logged-in browser loads a page, then the dev server gets it without Cookie, token or CSRF header, under the app CSP', async () => {
    const b = createBrowser()
    await login(b, broker)
    const page = await b.get(`${broker.origin}/echo/orders/42?tab=1`, { headers: { 'x-csrf': '1' } })
    expect(page.status).toBe(200)
    const seen = JSON.parse(page.body) as { method: string; url: string; headers: Record<string, string> }
    expect(seen).toMatchObject({ method: 'GET', url: '/echo/orders/42?tab=1' })
    expect(seen.headers.cookie).toBeUndefined()
    expect(seen.headers.authorization).toBeUndefined()
    expect(seen.headers['x-csrf']).toBeUndefined()
    // the dev server sees its own host (Vite checks Host against server.allowedHosts)
    expect(seen.headers.host).toBe(new URL(upstream.url).host)
    expect(page.headers['content-security-policy']).toBe(APP_CSP)
    expect(page.headers['x-frame-options']).toBe('DENY')
  })

  it('when the dev server answers with cookies or another method is used, then no cookie reaches the browser and the method passes', async () => {
    const b = createBrowser()
    const cookies = await b.get(`${broker.origin}/set-cookie`)
    expect(cookies.status).toBe(200)
    expect(cookies.headers['set-cookie']).toBeUndefined()
    const upload = await b.request(`${broker.origin}/upload`, { method: 'POST', body: 'twelve bytes', headers: { 'content-type': 'text/plain' } })
    expect(JSON.parse(upload.body)).toMatchObject({ bytes: 12 })
  })

  it("when a path belongs to the broker or an API route, then it is never proxied to the dev server", async () => {
    const b = createBrowser()
    const before = upstream.requests.length
    expect((await b.get(`${broker.origin}/bff/no-such-route`)).status).toBe(404)
    expect((await b.request(`${broker.origin}/healthz/x`, { method: 'POST', body: '' })).status).toBe(404)
    const api = await b.get(`${broker.origin}/api/echo/x`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(api.status).toBe(401)
    expect(String(api.headers['content-security-policy'])).toContain("default-src 'none'")
    expect(upstream.requests.length).toBe(before)
  })

  it('when the page opens its hot-reload WebSocket, then it is tunnelled to the dev server without the cookie', async () => {
    const b = createBrowser()
    await login(b, broker)
    const ws = await openWebSocket(`${broker.origin}/?token=hmr-token`, { Origin: broker.origin, Cookie: sessionCookie(b), 'Sec-WebSocket-Protocol': 'vite-hmr' })
    try {
      expect(ws.status).toBe(101)
      await ws.roundTrip('hot-update')
    } finally {
      ws.destroy()
    }
    const seen = upstream.requests.filter((r) => r.upgrade).at(-1)!
    expect(seen.url).toBe('/?token=hmr-token')
    expect(seen.headers.cookie).toBeUndefined()
    expect(seen.headers['sec-websocket-protocol']).toBe('vite-hmr')
  })

  it('when an upgrade names a broker path or climbs out, then it is refused and not tunnelled', async () => {
    const before = upstream.requests.length
    const brokerPath = await openWebSocket(`${broker.origin}/bff/ws`, { Origin: broker.origin })
    expect(brokerPath.status).toBe(404)
    const hostile = await openWebSocket(`${broker.origin}/assets%2f..%2fx`, { Origin: broker.origin })
    expect(hostile.status).toBe(400)
    expect(upstream.requests.length).toBe(before)
  })

  it("when the dev server is down, then a navigation gets the broker's 502 page under the broker's own CSP", async () => {
    await upstream.stop()
    const res = await createBrowser().get(`${broker.origin}/orders/42`)
    expect(res.status).toBe(502)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'")
  })
})
