import { afterEach, describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { cacheId } from '../../../src/tokens/client-credentials.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../../support/redis.js'
import { startInstance, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { createTokenEndpoint } from './support/token-endpoint.js'

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

function twoInstances(delayMs = 0) {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock, delayMs })
  const prefix = uniquePrefix('tokens-cc')
  const a = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock })
  const b = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock })
  open.push(a, b)
  return { clock, endpoint, prefix, a, b }
}

describe('client credentials cache', () => {
  it('when 50 concurrent calls are split across two instances, then one client-credentials grant serves them all', async () => {
    const { endpoint, a, b } = twoInstances(50)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).clientCredentials.tokenFor({ scopes: ['jobs'] })),
    )
    expect(endpoint.clientCredentialsCalls).toBe(1)
    expect(new Set(results).size).toBe(1)
  })

  it('when the cached token is outside the skew, then it is reused, and once inside the skew a new one is fetched', async () => {
    const { endpoint, clock, a, b } = twoInstances()
    const first = await a.clientCredentials.tokenFor()
    clock.advance(239_000)
    expect(await b.clientCredentials.tokenFor()).toBe(first)
    expect(endpoint.clientCredentialsCalls).toBe(1)
    clock.advance(2_000)
    expect(await b.clientCredentials.tokenFor()).not.toBe(first)
    expect(endpoint.clientCredentialsCalls).toBe(2)
  })

  it('when scopes or resource differ, then each pair has its own cache entry, whatever the scope order', async () => {
    const { endpoint, a } = twoInstances()
    const ab = await a.clientCredentials.tokenFor({ scopes: ['a', 'b'] })
    expect(await a.clientCredentials.tokenFor({ scopes: ['b', 'a', 'a'] })).toBe(ab)
    const withResource = await a.clientCredentials.tokenFor({ scopes: ['a', 'b'], resource: 'https://orders.example' })
    const onlyA = await a.clientCredentials.tokenFor({ scopes: ['a'] })
    expect(new Set([ab, withResource, onlyA]).size).toBe(3)
    expect(endpoint.clientCredentialsCalls).toBe(3)
    expect(cacheId({ scopes: ['b', 'a'] })).toBe(cacheId({ scopes: ['a', 'b'] }))
  })

  it('when a token is cached, then Redis holds it sealed, with a TTL of the token lifetime', async () => {
    const { a, prefix } = twoInstances()
    const token = await a.clientCredentials.tokenFor({ scopes: ['jobs'] })
    const [entry, ...rest] = await keysWithPrefix(redisUrl(), prefix)
    expect(rest).toEqual([])
    expect(entry?.key).toBe(`${prefix}cc:${cacheId({ scopes: ['jobs'] })}`)
    expect(entry?.ttlMs).toBeGreaterThan(290_000)
    expect(entry?.ttlMs).toBeLessThanOrEqual(300_000)
    expect(await a.store.get(entry!.key)).not.toContain(token)
  })

  it('when the provider is unreachable, then a cached token that has not expired is still served, and with none the answer is idp_unavailable', async () => {
    const { endpoint, clock, a } = twoInstances()
    const cached = await a.clientCredentials.tokenFor()
    clock.advance(241_000)
    endpoint.failTransiently(true)
    expect(await a.clientCredentials.tokenFor()).toBe(cached)
    const error = await a.clientCredentials.tokenFor({ scopes: ['other'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BffError)
    expect(error).toMatchObject({ code: 'idp_unavailable' })
  })
})
