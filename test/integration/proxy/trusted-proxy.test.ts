import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'

// trustProxy naming subnets: the API routes run through express, whose proxy-addr rules read X-Forwarded-For
let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'trusted-proxy',
    config: { trustProxy: 'loopback', apis: [{ path: '/api/orders', target: `${url}/echo` }] },
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
    expect(seen.headers['x-forwarded-for']).toContain('203.0.113.7')
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
})
