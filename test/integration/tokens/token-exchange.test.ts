import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { TOKEN_EXCHANGE_GRANT } from '../../support/token-exchange-grant.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { createOffsetClock } from '../../support/clock.js'

// RFC 8693 per API. The user's access token lives 300 s, an exchanged one 120 s: with the 60 s skew (jittered down
// to 30 s at most) the exchanged token is stale 100 s on while the user's is not, and both are 280 s on.
const ORDERS = 'urn:example:orders'
// the broker's clock (its provider port's too) runs ahead of the identity provider's by what the tests advanced
const clock = createOffsetClock()
let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>
/** subject_token of every exchange request the broker sent, in order */
const subjects: string[] = []

const providerFetch: typeof fetch = (input, init) => {
  const body = init?.body instanceof URLSearchParams ? init.body : undefined
  if (body?.get('grant_type') === TOKEN_EXCHANGE_GRANT) subjects.push(body.get('subject_token') ?? '')
  return fetch(input, init)
}

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'token-exchange',
    clock,
    providerFetch,
    idp: { accessTokenTtlSeconds: 300, tokenExchange: { audiences: [ORDERS], ttlSeconds: 120 } },
    config: {
      apis: [
        { path: '/api/profile', target: `${url}/echo/profile`, token: 'user' },
        { path: '/api/orders', target: `${url}/echo/orders`, token: 'user', tokenExchange: { audience: ORDERS, scope: ['profile'] } },
        { path: '/api/billing', target: `${url}/echo/billing`, token: 'user', tokenExchange: { audience: 'urn:example:billing' } },
      ],
    },
  })))
})
afterAll(() => stop())
afterEach(() => clock.reset())

const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
const call = (b: Browser, path: string) => b.get(`${broker.origin}${path}`, xhr)
const lastBearer = () => upstream.requests.at(-1)!.headers.authorization!.replace(/^Bearer /, '')
const exchanges = () => idp.counts.tokenExchangeGrants

async function loggedIn(): Promise<Browser> {
  const b = createBrowser()
  await login(b, broker)
  return b
}

describe('token exchange per API (RFC 8693)', () => {
  it('when a route sets tokenExchange, then its upstream gets a token for that audience, exchanged from the user\'s token', async () => {
    const b = await loggedIn()
    const before = exchanges()
    expect((await call(b, '/api/orders/1')).status).toBe(200)
    const exchanged = lastBearer()
    expect(exchanges() - before).toBe(1)
    const { grant } = await readSessionGrant(broker, b)
    expect(subjects.at(-1)).toBe(grant!.tokens.accessToken)
    expect(exchanged).not.toBe(grant!.tokens.accessToken)
    expect(grant!.apiTokens['/api/orders']!.accessToken).toBe(exchanged)
    // what the provider issued it for
    const stored = await idp.provider.AccessToken.find(exchanged)
    expect(stored).toMatchObject({ aud: ORDERS, scope: 'profile', accountId: 'alice' })
    // the plain route still gets the user's own token
    expect((await call(b, '/api/profile/me')).status).toBe(200)
    expect(lastBearer()).toBe(grant!.tokens.accessToken)
  })

  it('when the route is called again, then the cached exchanged token is reused without asking the provider', async () => {
    const b = await loggedIn()
    expect((await call(b, '/api/orders/1')).status).toBe(200)
    const exchanged = lastBearer()
    const before = exchanges()
    for (let i = 0; i < 3; i++) expect((await call(b, '/api/orders/2')).status).toBe(200)
    expect(lastBearer()).toBe(exchanged)
    expect(exchanges()).toBe(before)
  })

  it('when the exchanged token nears expiry and 10 callers arrive at once, then it is exchanged again exactly once', async () => {
    const b = await loggedIn()
    expect((await call(b, '/api/orders/1')).status).toBe(200)
    const first = lastBearer()
    const { grant: before } = await readSessionGrant(broker, b)
    const count = exchanges()
    const refreshes = idp.counts.refreshTokenGrants
    clock.advance(100_000)
    const results = await Promise.all(Array.from({ length: 10 }, () => call(b, '/api/orders/3')))
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(exchanges() - count).toBe(1)
    // the user's own token was still fresh: no refresh, and it was the subject again
    expect(idp.counts.refreshTokenGrants).toBe(refreshes)
    expect(subjects.at(-1)).toBe(before!.tokens.accessToken)
    const sent = new Set(upstream.requests.slice(-10).map((r) => r.headers.authorization))
    expect(sent.size).toBe(1)
    expect([...sent][0]).not.toBe(`Bearer ${first}`)
  })

  it('when the user\'s own token is stale as well, then it is refreshed first and the fresh one is the subject token', async () => {
    const b = await loggedIn()
    expect((await call(b, '/api/orders/1')).status).toBe(200)
    const { grant: before } = await readSessionGrant(broker, b)
    const refreshes = idp.counts.refreshTokenGrants
    clock.advance(280_000)
    expect((await call(b, '/api/orders/4')).status).toBe(200)
    expect(idp.counts.refreshTokenGrants - refreshes).toBe(1)
    const { grant: after } = await readSessionGrant(broker, b)
    expect(after!.tokens.accessToken).not.toBe(before!.tokens.accessToken)
    expect(subjects.at(-1)).toBe(after!.tokens.accessToken)
    expect(after!.apiTokens['/api/orders']!.accessToken).toBe(lastBearer())
  })

  it('when the provider refuses the audience, then the answer is 403 exchange_refused, the upstream is not called and the session stays', async () => {
    const b = await loggedIn()
    const seen = upstream.requests.length
    const errors = idp.counts.grantErrorCodes.length
    const res = await call(b, '/api/billing/1')
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'exchange_refused' })
    expect(idp.counts.grantErrorCodes.slice(errors)).toEqual(['invalid_target'])
    expect(upstream.requests.length).toBe(seen)
    expect((await call(b, '/api/profile/me')).status).toBe(200)
  })

  it('when the provider answers invalid_grant to the exchange, then it is 403 exchange_refused and the user\'s grant is kept', async () => {
    const b = await loggedIn()
    const { grant } = await readSessionGrant(broker, b)
    // the subject token revoked at the provider alone: the refresh token (and the grant) still stand
    await (await idp.provider.AccessToken.find(grant!.tokens.accessToken))!.destroy()
    const seen = upstream.requests.length
    const res = await call(b, '/api/orders/5')
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'exchange_refused' })
    expect(idp.counts.grantErrorCodes.at(-1)).toBe('invalid_grant')
    expect(upstream.requests.length).toBe(seen)
    expect((await readSessionGrant(broker, b)).grant?.tokens.refreshToken).toBe(grant!.tokens.refreshToken)
    expect((await b.get(`${broker.origin}/bff/user`, xhr)).status).toBe(200)
  })
})
