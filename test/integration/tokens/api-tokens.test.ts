import { afterEach, describe, expect, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../support/redis.js'
import { login, startInstance, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { apiRoute } from '../../support/api-route.js'
import { createTokenEndpoint } from './support/token-endpoint.js'

const expired = 301_000
const orders = apiRoute('/api/orders', undefined, { scopes: ['orders:read'], resource: 'https://orders.example' })
const plain = apiRoute('/api/profile')

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

function setup() {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock })
  const instance = startInstance({ url: redisUrl(), prefix: uniquePrefix('tokens-api'), provider: endpoint.provider, clock })
  open.push(instance)
  return { clock, endpoint, ...instance }
}

describe('per-API tokens (RFC 8707)', () => {
  it('when a route names no scopes or resource, then it gets the grant\'s own access token', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    expect(await manager.accessTokenFor(session, plain)).toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(0)
  })

  it('when a route names scopes and a resource, then a token for that audience is obtained with them and cached in the grant', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    const apiToken = await manager.accessTokenFor(session, orders)
    expect(apiToken).toMatch(/^api-/)
    expect(endpoint.requests).toEqual([
      { refreshToken: tokens.refreshToken, options: { scope: ['orders:read'], resource: 'https://orders.example' } },
    ])
    const grant = await grants.get(session.grantId)
    expect(grant?.apiTokens['/api/orders']).toMatchObject({ accessToken: apiToken })
    // the grant's own token is untouched, and the cached audience token is reused
    expect(grant?.tokens.accessToken).toBe(tokens.accessToken)
    expect(await manager.accessTokenFor(session, orders)).toBe(apiToken)
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(1)
  })

  it('when the provider rotates the refresh token on a per-API refresh, then the new one becomes the grant\'s and is the one used next', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    await manager.accessTokenFor(session, orders)
    const rotated = (await grants.get(session.grantId))?.tokens.refreshToken
    expect(rotated).not.toBe(tokens.refreshToken)
    clock.advance(expired)
    await manager.accessTokenFor(session)
    expect(endpoint.requests[1]?.refreshToken).toBe(rotated)
    expect(endpoint.replays).toBe(0)
  })

  it('when 50 concurrent requests mix the grant\'s token and an audience token, then each is refreshed once and nothing is replayed', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => manager.accessTokenFor(session, i % 2 ? orders : undefined)),
    )
    expect(endpoint.refreshCalls).toBe(2)
    expect(endpoint.replays).toBe(0)
    expect(new Set(results).size).toBe(2)
    expect((await grants.get(session.grantId))?.version).toBe(3)
  })
})
