import { afterEach, describe, expect, it } from 'vitest'
import { redisUrl, uniquePrefix } from '../../support/redis.js'
import { apiRoute } from '../../support/api-route.js'
import { login, startInstance, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { createTokenEndpoint } from './support/token-endpoint.js'

// RFC 8693 exchanges under the grant's lock, against the token endpoint double: every token lives 300 s, so 271 s
// on both the user's token and the exchanged one are inside the 60 s skew whatever the grant's jitter (which moves
// the refresh point to between 60 s and 30 s before expiry), and 301 s on both are expired.
const stale = 271_000
const expired = 301_000
const orders = apiRoute('/api/orders', undefined, { tokenExchange: { audience: 'urn:example:orders', scope: ['orders:read'] } })

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

function twoInstances() {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock, delayMs: 50 })
  const prefix = uniquePrefix('tokens-exchange')
  const a = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock })
  const b = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock })
  open.push(a, b)
  return { clock, endpoint, a, b }
}

const concurrently = (n: number, call: (i: number) => Promise<string>) =>
  Promise.all(Array.from({ length: n }, (_, i) => call(i)))

describe('token exchange under the grant lock (RFC 8693)', () => {
  it('when 20 concurrent calls on two instances need the exchanged token, then exactly one exchange runs, with the user\'s token as subject', async () => {
    const { endpoint, clock, a, b } = twoInstances()
    const tokens = endpoint.issue()
    const session = await login(a.grants, tokens, clock)
    const results = await concurrently(20, (i) => (i % 2 ? a : b).manager.accessTokenFor({ grantId: session.grantId }, orders))
    expect(endpoint.exchanges).toEqual([
      { subjectToken: tokens.accessToken, options: { audience: 'urn:example:orders', scope: ['orders:read'] } },
    ])
    expect(new Set(results).size).toBe(1)
    const grant = await a.grants.get(session.grantId)
    expect(grant?.apiTokens['/api/orders']?.accessToken).toBe(results[0])
    expect(grant?.tokens.accessToken).toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(0)
  })

  it('when the user\'s token is stale too, then one refresh and then one exchange run with the new token as subject, and nothing is replayed', async () => {
    const { endpoint, clock, a, b } = twoInstances()
    const session = await login(a.grants, endpoint.issue(), clock)
    await a.manager.accessTokenFor(session, orders)
    clock.advance(stale)
    const results = await concurrently(20, (i) => (i % 2 ? a : b).manager.accessTokenFor(session, orders))
    expect(endpoint.refreshCalls).toBe(1)
    expect(endpoint.replays).toBe(0)
    expect(endpoint.exchanges).toHaveLength(2)
    const grant = await b.grants.get(session.grantId)
    expect(endpoint.exchanges[1]?.subjectToken).toBe(grant?.tokens.accessToken)
    expect(new Set(results)).toEqual(new Set([grant?.apiTokens['/api/orders']?.accessToken]))
  })

  it('when the provider is down, then a still-valid exchanged token is served inside the skew, and once expired the answer is 503 with Retry-After', async () => {
    const { endpoint, clock, a } = twoInstances()
    const session = await login(a.grants, endpoint.issue(), clock)
    const exchanged = await a.manager.accessTokenFor(session, orders)
    endpoint.failTransiently(true)
    clock.advance(stale)
    expect(await a.manager.accessTokenFor(session, orders)).toBe(exchanged)
    clock.advance(expired - stale)
    const err = await a.manager.accessTokenFor(session, orders).catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 503, code: 'idp_unavailable' })
    expect((err as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(await a.grants.get(session.grantId)).toBeDefined()
  })

  it('when the provider refuses the exchange, then exchange_refused is thrown and the grant is untouched', async () => {
    const { endpoint, clock, a } = twoInstances()
    const tokens = endpoint.issue()
    const session = await login(a.grants, tokens, clock)
    endpoint.refuseExchanges(true)
    await expect(a.manager.accessTokenFor(session, orders)).rejects.toMatchObject({ status: 403, code: 'exchange_refused' })
    expect(await a.grants.get(session.grantId)).toMatchObject({ version: 1, tokens: { refreshToken: tokens.refreshToken } })
    expect(await a.manager.accessTokenFor(session)).toBe(tokens.accessToken)
  })
})
