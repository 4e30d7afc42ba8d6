import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'

const ORDERS = 'urn:example:orders'
let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'per-api-tokens',
    idp: { resourceServers: { [ORDERS]: { scope: 'api:read' } } },
    config: {
      provider: {
        scopes: ['openid', 'profile', 'offline_access', 'api:read'],
        authorizationParams: { prompt: 'consent', resource: ORDERS },
      },
      apis: [
        { path: '/api/profile', target: `${url}/echo/profile`, token: 'user' },
        { path: '/api/orders', target: `${url}/echo/orders`, token: 'user', resource: ORDERS, scopes: ['api:read'] },
      ],
    },
  })))
})
afterAll(() => stop())

describe('per-API tokens (RFC 8707 resource indicators)', () => {
  it('when a route names a resource, then its upstream gets a token for that audience, fetched once and cached with the grant', async () => {
    const b = createBrowser()
    await login(b, broker)
    const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
    expect((await b.get(`${broker.origin}/api/profile/me`, xhr)).status).toBe(200)
    const userToken = upstream.requests.at(-1)!.headers.authorization
    const before = idp.counts.refreshTokenGrants
    expect((await b.get(`${broker.origin}/api/orders/1`, xhr)).status).toBe(200)
    const ordersToken = upstream.requests.at(-1)!.headers.authorization
    expect(ordersToken).toMatch(/^Bearer .+/)
    expect(ordersToken).not.toBe(userToken)
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
    expect((await b.get(`${broker.origin}/api/orders/2`, xhr)).status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(ordersToken)
    expect(idp.counts.refreshTokenGrants - before).toBe(1)
    const { grant } = await readSessionGrant(broker, b)
    expect(`Bearer ${grant!.apiTokens['/api/orders']!.accessToken}`).toBe(ordersToken)
  })
})
