import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import type { Upstream } from '../../support/upstream.js'
import type { Clock } from '../../../src/tokens/clock.js'

// A refresh the provider refuses with a 4xx: LemonLDAP::NG 2.16 answers `invalid_request` (not invalid_grant) for an
// expired refresh token. The real oidc-provider answers invalid_grant, so the refusals are injected at the token
// endpoint through openid-client's customFetch hook; the rest of the flow is real.
let offset = 0
// the broker's clock runs ahead of the provider's, so the access token is stale without waiting
const clock: Clock = { now: () => Date.now() + offset }
let refusal: { status: number; body: Record<string, unknown>; headers?: Record<string, string> } | undefined
let refreshRequests = 0

const isRefresh = (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
  new URL(input instanceof Request ? input.url : String(input)).pathname.endsWith('/token') &&
  String(init?.body ?? '').includes('grant_type=refresh_token')

const providerFetch: typeof fetch = (input, init) => {
  if (!isRefresh(input, init)) return fetch(input, init)
  refreshRequests++
  if (!refusal) return fetch(input, init)
  const headers = { 'content-type': 'application/json', ...refusal.headers }
  return Promise.resolve(new Response(JSON.stringify(refusal.body), { status: refusal.status, headers }))
}

let broker: TestBroker
let upstream: Upstream
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'refresh-refusals',
    providerFetch,
    clock,
    config: { apis: [{ path: '/api/orders', target: `${url}/echo`, token: 'user' }] },
  })))
})
afterAll(() => stop())
afterEach(() => {
  refusal = undefined
})

const api = (b: Browser) => b.get(`${broker.origin}/api/orders/1`, { xhr: true, headers: { 'x-csrf': '1' } })
const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

/** a logged-in browser whose access token the broker now holds for expired */
async function staleSession(): Promise<Browser> {
  // back to the provider's time first: its ID tokens must not look 400 s old to the broker (iat check)
  offset = 0
  const b = createBrowser()
  await login(b, broker)
  expect((await api(b)).status).toBe(200)
  offset += 400_000 // past the provider's 300 s access tokens, well inside the 1800 s idle timeout
  return b
}

describe('refresh refused with a 4xx', () => {
  it('when the provider answers invalid_request (LemonLDAP::NG, expired refresh token), then 401 session_expired, no upstream call, the session is gone', async () => {
    const b = await staleSession()
    refusal = { status: 400, body: { error: 'invalid_request', error_description: 'refresh token expired' } }
    const upstreamCalls = upstream.requests.length
    const refreshes = refreshRequests
    const res = await api(b)
    expect(res.status).toBe(401)
    expect(JSON.parse(res.body).error).toBe('session_expired')
    expect(upstream.requests.length).toBe(upstreamCalls)
    expect((await user(b)).status).toBe(401)
    // the grant is gone: no second refresh, ever
    expect((await api(b)).status).toBe(401)
    expect(refreshRequests - refreshes).toBe(1)
  })

  it('when the provider answers 429, then 503 idp_unavailable and the session is kept', async () => {
    const b = await staleSession()
    refusal = { status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': '5' } }
    const res = await api(b)
    expect(res.status).toBe(503)
    expect(JSON.parse(res.body).error).toBe('idp_unavailable')
    expect((await user(b)).status).toBe(200)
  })

  it("when the provider answers invalid_client (the broker's secret is wrong), then 503 idp_unavailable, the session is kept and an error is logged", async () => {
    const b = await staleSession()
    refusal = { status: 401, body: { error: 'invalid_client' } }
    const upstreamCalls = upstream.requests.length
    const res = await api(b)
    expect(res.status).toBe(503)
    expect(JSON.parse(res.body).error).toBe('idp_unavailable')
    expect(upstream.requests.length).toBe(upstreamCalls)
    expect((await user(b)).status).toBe(200)
    const line = broker.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'provider.response_invalid' && l.context === 'refresh' && l.level === 'error')
    expect(line?.msg).toContain("refused the broker's client")
    // fixed set-up: the same session refreshes again once the backoff is over
    refusal = undefined
    offset += 120_000
    expect((await api(b)).status).toBe(200)
  })
})
