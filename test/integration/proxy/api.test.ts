import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { rawRequest } from '../../support/raw-http.js'

let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'api',
    idp: { clientCredentialsTtlSeconds: 300 },
    config: {
      apis: [
        { path: '/api/orders', target: `${url}/echo/v1`, token: 'user' },
        { path: '/api/public', target: `${url}/echo/public`, token: 'none', anonymous: true },
        { path: '/api/app', target: `${url}/echo/app`, token: 'client', anonymous: true },
        { path: '/api/either', target: `${url}/echo/either`, token: 'user-or-client' },
        { path: '/api/cookies', target: `${url}/set-cookie`, token: 'user', passSetCookie: true },
      ],
    },
  })))
})
afterAll(() => stop())
beforeEach(() => {
  upstream.requests.length = 0
})

const api = (b: Browser, path: string, headers: Record<string, string> = { 'x-csrf': '1' }) =>
  b.get(`${broker.origin}${path}`, { xhr: true, headers })

describe('API proxy through a logged-in session', () => {
  it('when the SPA calls an API, then the upstream gets the Bearer access token and the prefix replaced by the target path', async () => {
    const b = createBrowser()
    await login(b, broker)
    const res = await api(b, '/api/orders/42?x=1&y=%20z')
    expect(res.status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    const seen = upstream.requests.at(-1)!
    expect(seen.url).toBe('/echo/v1/42?x=1&y=%20z')
    expect(seen.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(seen.headers.cookie).toBeUndefined()
    expect(seen.headers['x-csrf']).toBeUndefined()
  })

  it('when the CSRF header is missing, then 403 csrf_failed and the upstream is never called (invariant 6)', async () => {
    const b = createBrowser()
    await login(b, broker)
    for (const headers of [{}, { 'x-csrf': '0' }, { 'x-csrf': 'true' }] as Record<string, string>[]) {
      const res = await api(b, '/api/orders/1', headers)
      expect(res.status).toBe(403)
      expect(JSON.parse(res.body).error).toBe('csrf_failed')
    }
    const form = await b.request(`${broker.origin}/api/orders/1`, { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, site: 'cross-site' })
    expect(form.status).toBe(403)
    expect(upstream.requests).toHaveLength(0)
  })

  it('when there is no session, then 401 JSON, never a redirect, and the upstream is never called (invariant 6)', async () => {
    const res = await api(createBrowser(), '/api/orders/1')
    expect(res.status).toBe(401)
    expect(res.location).toBeUndefined()
    expect(JSON.parse(res.body).error).toBe('unauthorized')
    // even as a navigation, an API route answers JSON
    const nav = await createBrowser().get(`${broker.origin}/api/orders/1`, { headers: { 'x-csrf': '1' } })
    expect(nav.status).toBe(401)
    expect(nav.headers['content-type']).toMatch(/json/)
    expect(upstream.requests).toHaveLength(0)
  })

  it('when a route is anonymous with token none, then it is forwarded without a session and without Authorization', async () => {
    const res = await api(createBrowser(), '/api/public/info')
    expect(res.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toBeUndefined()
  })

  it('when anonymous client-credentials routes are called 50 times, then the provider issues one client-credentials token', async () => {
    const before = idp.counts.clientCredentialsGrants
    const results = await Promise.all(Array.from({ length: 50 }, () => api(createBrowser(), '/api/app/x')))
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    expect(idp.counts.clientCredentialsGrants - before).toBe(1)
    const tokens = new Set(upstream.requests.map((r) => r.headers.authorization))
    expect(tokens.size).toBe(1)
    expect([...tokens][0]).toMatch(/^Bearer .+/)
  })

  it('when a user-or-client route is called with and without a session, then the user token or the client token is sent', async () => {
    const b = createBrowser()
    await login(b, broker)
    const { grant } = await readSessionGrant(broker, b)
    expect((await api(b, '/api/either/1')).status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect((await api(createBrowser(), '/api/either/1')).status).toBe(401)
  })

  it('when an upstream sets cookies on a passSetCookie route, then none named like the session cookie gets through', async () => {
    const b = createBrowser()
    await login(b, broker)
    const before = b.cookie(broker.origin, 'bff-session')
    const res = await api(b, '/api/cookies')
    const set = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
    expect(set.length).toBeGreaterThan(0)
    expect(set.some((c) => /^(__host-|__secure-)?bff-(session|login)=/i.test(c))).toBe(false)
    expect(b.cookie(broker.origin, 'bff-session')).toBe(before)
  })

  it('when a proxied path holds dot-segments or encoded separators, then 400 and nothing reaches the upstream (invariant 13)', async () => {
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    const paths = ['/api/orders/../admin', '/api/orders/%2e%2e/admin', '/api/orders/%2F..%2Fadmin', '/api/orders/%252e%252e/x', '/api/orders/a%5Cb', '/api/orders/./x', '/api/orders/..', '/api/orders/a/..%2f..%2fadmin']
    for (const path of paths) {
      const res = await rawRequest(broker.origin, `GET ${path} HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nCookie: ${cookie}\r\nConnection: close`)
      expect(res.status, path).toBe(400)
    }
    // absolute-form request targets never reach another host
    const absolute = await rawRequest(broker.origin, `GET http://evil.example/api/orders/1 HTTP/1.1\r\nHost: evil.example\r\nX-CSRF: 1\r\nCookie: ${cookie}\r\nConnection: close`)
    expect(absolute.status).toBeGreaterThanOrEqual(400)
    // under the broker's own base path, what would climb to an API route names no route of the broker's: 404
    for (const path of ['/bff/../api/orders/1', '/bff/%2e%2e/api/orders/1', '/bff/..%2Fapi/orders/1', '/bff/%2F..%2F..%2Fapi/orders/1']) {
      const res = await rawRequest(broker.origin, `GET ${path} HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nCookie: ${cookie}\r\nConnection: close`)
      expect(res.status, path).toBe(404)
    }
    expect(upstream.requests).toHaveLength(0)
  })

  it('when the client sends X-Forwarded-* and Forwarded headers, then the upstream gets the broker-computed values', async () => {
    const b = createBrowser()
    await login(b, broker)
    const cookie = `bff-session=${b.cookie(broker.origin, 'bff-session')}`
    const res = await rawRequest(
      broker.origin,
      `GET /api/orders/1 HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nCookie: ${cookie}\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=6.6.6.6\r\nConnection: close, x-secret\r\nX-Secret: leak`,
    )
    expect(res.status).toBe(200)
    const h = upstream.requests.at(-1)!.headers
    expect(h['x-forwarded-for']).not.toContain('6.6.6.6')
    expect(h['x-forwarded-host']).toBe(new URL(broker.origin).host)
    expect(String(h.forwarded)).not.toContain('6.6.6.6')
    expect(h['x-secret']).toBeUndefined()
  })
})
