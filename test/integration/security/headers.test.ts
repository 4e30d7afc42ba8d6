import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'

let broker: TestBroker
let stop: () => Promise<void>
let upstream: Upstream
let corsUpstream: Server
beforeAll(async () => {
  // an upstream that tries to grant CORS and to frame itself: the broker's headers win, its CORS grant is dropped
  corsUpstream = createServer((_req, res) => {
    res.setHeader('access-control-allow-origin', 'https://evil.example')
    res.setHeader('access-control-allow-credentials', 'true')
    res.setHeader('x-frame-options', 'ALLOWALL')
    res.setHeader('referrer-policy', 'unsafe-url')
    res.end('{}')
  })
  await new Promise<void>((resolve) => corsUpstream.listen(0, '127.0.0.1', resolve))
  const corsUrl = `http://127.0.0.1:${(corsUpstream.address() as AddressInfo).port}`
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'headers',
    config: {
      apis: [
        { path: '/api/echo', target: `${url}/echo` },
        { path: '/api/cors', target: corsUrl },
        // nothing listens there: a 502 written after the authentication step
        { path: '/api/down', target: 'http://127.0.0.1:9/' },
      ],
    },
  })))
})
afterAll(async () => {
  await stop()
  corsUpstream.close()
})

function expectHardened(headers: Record<string, string | string[]>, what: string) {
  expect(headers['x-content-type-options'], what).toBe('nosniff')
  expect(headers['referrer-policy'], what).toBe('no-referrer')
  expect(headers['x-frame-options'], what).toBe('DENY')
  expect(String(headers['content-security-policy']), what).toContain("frame-ancestors 'none'")
  expect(headers['access-control-allow-origin'], what).toBeUndefined()
  expect(headers['access-control-allow-credentials'], what).toBeUndefined()
  expect(headers['x-powered-by'], what).toBeUndefined()
  // http publicUrl: no HSTS (it would pin a plain-http dev origin)
  expect(headers['strict-transport-security'], what).toBeUndefined()
}

describe('security headers on every response (invariant 12)', () => {
  it('when any route answers, success or error, then nosniff, no-referrer and framing refused are set and no CORS grant is made', async () => {
    const b = createBrowser()
    const evil = { origin: 'https://evil.example' }
    const responses = {
      healthz: await b.get(`${broker.origin}/healthz`, { headers: evil }),
      readyz: await b.get(`${broker.origin}/readyz`, { headers: evil }),
      metrics: await b.get(`${broker.origin}/metrics`),
      login: await b.get(`${broker.origin}/bff/login`),
      badReturnTo: await b.get(`${broker.origin}/bff/login?returnTo=//evil.example`),
      callbackError: await b.get(`${broker.origin}/bff/callback?state=nope`, { site: 'cross-site' }),
      userNoSession: await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1', ...evil } }),
      notFound: await b.get(`${broker.origin}/nothing-here`),
    }
    for (const [what, res] of Object.entries(responses)) expectHardened(res.headers, what)
    await login(b, broker)
    const me = await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1', ...evil } })
    expect(me.status).toBe(200)
    expectHardened(me.headers, 'user')
    // proxied API answers, and the API routes' own errors (they are served without express)
    const xhr = { xhr: true, headers: { 'x-csrf': '1', ...evil } }
    const proxied = {
      apiOk: await b.get(`${broker.origin}/api/echo/x`, xhr),
      apiNoCsrf: await b.get(`${broker.origin}/api/echo/x`, { xhr: true, headers: evil }),
      apiNoSession: await createBrowser().get(`${broker.origin}/api/echo/x`, xhr),
      apiHostilePath: await b.get(`${broker.origin}/api/echo/%2e%2e/x`, xhr),
      apiUpstreamCors: await b.get(`${broker.origin}/api/cors/x`, xhr),
      apiUpstreamDown: await b.get(`${broker.origin}/api/down/x`, xhr),
    }
    expect(proxied.apiOk.status).toBe(200)
    expect(proxied.apiUpstreamDown.status).toBe(502)
    for (const [what, res] of Object.entries(proxied)) {
      expectHardened(res.headers, what)
      expect(res.headers['cross-origin-resource-policy'], what).toBe('same-origin')
    }
  })

  it('when a CORS preflight comes from another origin, then no CORS grant is made', async () => {
    const res = await createBrowser().request(`${broker.origin}/bff/user`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-csrf' },
    })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['access-control-allow-headers']).toBeUndefined()
  })

  it('when an error happens, then the answer has no stack trace', async () => {
    const b = createBrowser()
    const res = await b.get(`${broker.origin}/bff/login?returnTo=${encodeURIComponent('/\t/evil.example')}`)
    expect(res.status).toBe(400)
    expect(res.body).not.toMatch(/at \w+ \(|node_modules|\.ts:\d+/)
  })
})
