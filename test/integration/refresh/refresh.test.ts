import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createOffsetClock } from '../../support/clock.js'
import { createBrowser, login, startBrokerWithUpstream, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { redisKeys } from '../../../src/session/keys.js'

// access tokens live 4 s: the refresh skew (60 s) is capped at half the lifetime, so a token is refreshed after 2 s
// of the broker's clock, which the tests move instead of waiting
const ACCESS_TTL = 4
const clock = createOffsetClock()
let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>
let idpDown = false
let tokenEndpoint500 = false
let tokenRequests = 0

const isTokenEndpoint = (input: Parameters<typeof fetch>[0]) =>
  new URL(input instanceof Request ? input.url : String(input)).pathname.endsWith('/token')

/** openid-client's customFetch hook: the fault-injection point for "provider unreachable" or failing. */
const providerFetch: typeof fetch = (input, init) => {
  if (idpDown) return Promise.reject(new TypeError('fetch failed'))
  if (!isTokenEndpoint(input)) return fetch(input, init)
  tokenRequests++
  if (!tokenEndpoint500) return fetch(input, init)
  const body = JSON.stringify({ error: 'server_error', error_description: 'test: the provider is failing' })
  return Promise.resolve(new Response(body, { status: 500, headers: { 'content-type': 'application/json' } }))
}

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'refresh',
    providerFetch,
    clock,
    idp: { accessTokenTtlSeconds: ACCESS_TTL, rotateRefreshToken: true },
    config: { apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }] },
  })))
})
afterAll(() => stop())
beforeEach(() => {
  idpDown = false
  tokenEndpoint500 = false
})

const api = (b: Browser, origin = broker.origin) => b.get(`${origin}/api/orders/1`, { xhr: true, headers: { 'x-csrf': '1' } })
const bearer = () => upstream.requests.at(-1)!.headers.authorization
const untilStale = () => clock.advance((ACCESS_TTL / 2) * 1000 + 300)
const untilExpired = () => clock.advance(ACCESS_TTL * 1000 + 300)

describe('refresh (invariants 9 and 10)', () => {
  it('when the access token is inside the skew, then the next call refreshes it once and the upstream gets the new token', async () => {
    const b = createBrowser()
    await login(b, broker)
    expect((await api(b)).status).toBe(200)
    const first = bearer()
    const before = idp.counts.refreshTokenGrants
    untilStale()
    expect((await api(b)).status).toBe(200)
    expect(bearer()).not.toBe(first)
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
    // the rotated refresh token replaced the old one in the single grant record
    const { grant } = await readSessionGrant(broker, b)
    expect(`Bearer ${grant!.tokens.accessToken}`).toBe(bearer())
    expect((await api(b)).status).toBe(200)
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
  })

  it('when 50 concurrent calls of one session find the token expiring, then all 50 succeed with exactly one refresh', async () => {
    const b = createBrowser()
    await login(b, broker)
    untilStale()
    const before = idp.counts.refreshTokenGrants
    const errorsBefore = idp.counts.grantErrors
    const results = await Promise.all(Array.from({ length: 50 }, () => api(b)))
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
    expect(idp.counts.grantErrors).toBe(errorsBefore)
    expect(new Set(upstream.requests.slice(-50).map((r) => r.headers.authorization)).size).toBe(1)
  })

  it('when two broker instances share Redis and 50 concurrent calls are split across them, then exactly one refresh happens', async () => {
    const second = await startTestBroker({
      name: 'refresh-second',
      issuer: idp.issuer,
      clock,
      config: {
        apis: [{ path: '/api/orders', target: `${upstream.url}/echo`, token: 'user' }],
        redis: { url: broker.redisUrl, keyPrefix: broker.prefix },
      },
    })
    try {
      const b = createBrowser()
      await login(b, broker)
      b.setCookie(second.origin, `bff-session=${b.cookie(broker.origin, 'bff-session')}; Path=/`)
      expect((await api(b, second.origin)).status).toBe(200)
      untilStale()
      const before = idp.counts.refreshTokenGrants
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => api(b, i % 2 ? second.origin : broker.origin)))
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
      expect(idp.counts.refreshTokenGrants - before).toBe(1)
      expect(new Set(upstream.requests.slice(-50).map((r) => r.headers.authorization)).size).toBe(1)
    } finally {
      await second.stop()
    }
  })

  it('when the refresh token was revoked, then the proxy answers 401 session_expired, the upstream is not called and the session is gone', async () => {
    const b = createBrowser()
    await login(b, broker)
    const { grant, sessionId } = await readSessionGrant(broker, b)
    // revoke at the provider directly (RFC 7009), as an admin or another logout would
    const res = await fetch(new URL('/token/revocation', idp.issuer), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: grant!.tokens.refreshToken!, token_type_hint: 'refresh_token' }),
    })
    expect(res.status).toBe(200)
    untilStale()
    const calls = upstream.requests.length
    const out = await api(b)
    expect(out.status).toBe(401)
    expect(JSON.parse(out.body).error).toBe('session_expired')
    expect(upstream.requests.length).toBe(calls)
    expect(b.cookie(broker.origin, 'bff-session')).toBeUndefined()
    const { Redis } = await import('ioredis')
    const redis = new Redis(broker.redisUrl)
    expect(await redis.exists(redisKeys(broker.prefix).session(sessionId), redisKeys(broker.prefix).grant(grant!.id))).toBe(0)
    redis.disconnect()
  })

  it('when the provider is down and the access token is still valid, then calls keep working', async () => {
    const b = createBrowser()
    await login(b, broker)
    idpDown = true
    expect((await api(b)).status).toBe(200)
  })

  it('when the provider is down and the token is expired, then 503 idp_unavailable, the session is kept, and it works again once the provider is back', async () => {
    const b = createBrowser()
    await login(b, broker)
    untilExpired()
    idpDown = true
    const calls = upstream.requests.length
    const res = await api(b)
    expect(res.status).toBe(503)
    expect(JSON.parse(res.body).error).toBe('idp_unavailable')
    expect(upstream.requests.length).toBe(calls)
    expect((await b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).status).toBe(200)
    idpDown = false
    // the grant backs off after the failure: the provider is asked again once Retry-After has passed
    clock.advance(Number(res.headers['retry-after']) * 1000)
    expect((await api(b)).status).toBe(200)
  })

  it('when the token endpoint answers 500 and 10 callers keep calling for 2.5 s, then it gets a handful of requests, every caller a 503 with Retry-After, and after recovery one refresh succeeds', async () => {
    const b = createBrowser()
    await login(b, broker)
    untilExpired()
    tokenEndpoint500 = true
    const before = tokenRequests
    const answers: Array<{ status: number; error: string; retryAfter: string | undefined }> = []
    const deadline = Date.now() + 2500
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (Date.now() < deadline) {
          const res = await api(b)
          answers.push({ status: res.status, error: JSON.parse(res.body).error, retryAfter: res.headers['retry-after'] as string | undefined })
          await sleep(50)
        }
      }),
    )
    // 0.5–1 s, then 1–2 s, then 2–4 s of backoff: at most 3 token requests in 2.5 s (without backoff: one per call)
    expect(tokenRequests - before).toBeGreaterThanOrEqual(1)
    expect(tokenRequests - before).toBeLessThanOrEqual(3)
    expect(answers.length).toBeGreaterThan(50)
    for (const a of answers) {
      expect(a).toMatchObject({ status: 503, error: 'idp_unavailable' })
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    tokenEndpoint500 = false
    clock.advance(Number(answers.at(-1)!.retryAfter) * 1000)
    const recovered = tokenRequests
    expect((await api(b)).status).toBe(200)
    expect(tokenRequests - recovered).toBe(1)
  }, 20_000)

  it('when the access token is only inside the skew and the refresh fails transiently, then the still-valid token is used', async () => {
    const b = createBrowser()
    await login(b, broker)
    untilStale()
    idpDown = true
    expect((await api(b)).status).toBe(200)
  })
})
