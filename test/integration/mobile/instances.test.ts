import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerWithUpstream, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { loggedIn, mobileBrokerConfig, withHandle } from './support.js'

// Two broker instances sharing one Redis (invariants 10 and 18): a handle works on either, the grant behind it is
// refreshed once whichever instance asks, and a revocation on one holds on the other's next request.

// access tokens live 4 s: the refresh skew is capped at half the lifetime, so a token is refreshed after 2 s
const ACCESS_TTL = 4
// the broker's clock: the tests move it past the refresh point instead of waiting
const clock = createOffsetClock()
let a: TestBroker
let b: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker: a, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'mobile-instances',
    clock,
    idp: { accessTokenTtlSeconds: ACCESS_TTL, rotateRefreshToken: true },
    config: mobileBrokerConfig(url),
  })))
  b = await startTestBroker({
    name: 'mobile-instances-b',
    clock,
    issuer: idp.issuer,
    config: { ...mobileBrokerConfig(upstream.url), redis: { keyPrefix: a.prefix } },
  })
})
afterAll(async () => {
  await b?.stop()
  await stop?.()
})

describe('a handle across broker instances', () => {
  it('when a handle made on instance A is used on instance B, then B serves it (/bff/user and the API)', async () => {
    const session = await loggedIn(a)
    expect((await withHandle(b, '/bff/user', session.handle, { key: session.key })).status).toBe(200)
    const api = await withHandle(b, '/api/orders/7', session.handle, { key: session.key })
    expect(api.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer /)
  })

  it('when 10 concurrent DPoP calls split over two instances find the token expiring, then all succeed with exactly one refresh', async () => {
    const session = await loggedIn(a)
    expect((await withHandle(a, '/api/orders/1', session.handle, { key: session.key })).status).toBe(200)
    const first = upstream.requests.at(-1)!.headers.authorization
    clock.advance((ACCESS_TTL / 2) * 1000 + 300)
    const before = idp.counts.refreshTokenGrants
    const errors = idp.counts.grantErrors
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => withHandle(i % 2 ? b : a, `/api/orders/${i}`, session.handle, { key: session.key })),
    )
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
    expect(idp.counts.grantErrors).toBe(errors)
    const bearers = new Set(upstream.requests.slice(-10).map((r) => r.headers.authorization))
    expect(bearers.size).toBe(1)
    expect(bearers.has(first)).toBe(false)
  })

  it('when the app logs out on instance A, then instance B refuses the handle on its very next request', async () => {
    const session = await loggedIn(a)
    expect((await withHandle(b, '/bff/user', session.handle, { key: session.key })).status).toBe(200)
    expect((await withHandle(b, '/api/orders/1', session.handle, { key: session.key })).status).toBe(200)
    expect((await withHandle(a, '/bff/mobile/logout', session.handle, { key: session.key, method: 'POST' })).status).toBe(204)
    const seen = upstream.requests.length
    expect((await withHandle(b, '/api/orders/1', session.handle, { key: session.key })).status).toBe(401)
    expect((await withHandle(b, '/bff/user', session.handle, { key: session.key })).status).toBe(401)
    expect(upstream.requests.length).toBe(seen)
  })
})
