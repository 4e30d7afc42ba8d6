import { afterEach, describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../../support/redis.js'
import { login, startInstance, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { createTokenEndpoint } from './support/token-endpoint.js'

// A provider that is down (its token endpoint answers 500: the port's idp_unavailable) must not be hammered: after a
// transient failure the grant backs off (1 s doubling up to 60 s, jittered, kept in Redis for every instance) and
// answers 503 with Retry-After without calling the provider (invariant 9). Time moves on the test clock.
const stale = 271_000
const expired = 301_000

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

function setup() {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock })
  const prefix = uniquePrefix('tokens-backoff')
  const start = () => {
    const instance = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock })
    open.push(instance)
    return instance
  }
  return { clock, endpoint, prefix, start, ...start() }
}

const settle = (calls: Promise<string>[]) => Promise.allSettled(calls)

describe('refresh backoff against a failing provider (invariant 9)', () => {
  it('when the token endpoint fails and 10 callers keep asking for 6 s, then it gets a handful of requests and every caller a 503 with Retry-After; after recovery one refresh serves all', async () => {
    const { endpoint, grants, manager, clock, prefix } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    endpoint.failTransiently(true)
    const failures: unknown[] = []
    for (let elapsed = 0; elapsed < 6000; elapsed += 100) {
      const results = await settle(Array.from({ length: 10 }, () => manager.accessTokenFor(session)))
      for (const r of results) failures.push(r.status === 'rejected' ? r.reason : r.value)
      clock.advance(100)
    }
    // 0.5–1 s, then 1–2 s, then 2–4 s: at most 4 requests in 6 s (without backoff: one per round, 60)
    expect(endpoint.refreshCalls).toBeGreaterThanOrEqual(2)
    expect(endpoint.refreshCalls).toBeLessThanOrEqual(4)
    expect(failures).toHaveLength(600)
    for (const err of failures) {
      expect(err).toBeInstanceOf(BffError)
      expect(err).toMatchObject({ status: 503, code: 'idp_unavailable' })
      expect((err as BffError).retryAfterSeconds).toBeGreaterThanOrEqual(1)
      expect((err as BffError).retryAfterSeconds).toBeLessThanOrEqual(60)
    }
    expect(await grants.get(session.grantId)).toMatchObject({ version: 1 })

    endpoint.failTransiently(false)
    clock.advance(60_000)
    const calls = endpoint.refreshCalls
    const tokens = await Promise.all(Array.from({ length: 10 }, () => manager.accessTokenFor(session)))
    expect(new Set(tokens).size).toBe(1)
    expect(endpoint.refreshCalls - calls).toBe(1)
    // the success cleared the backoff: nothing but the grant and the rotation record is left
    const keys = await keysWithPrefix(redisUrl(), prefix)
    expect(keys.map((k) => k.key.slice(prefix.length).split(':')[0]).sort()).toEqual(['grant', 'rotated'])
  })

  it('when the grant is in backoff and its token is inside the skew but not expired, then the token is served and the provider not asked', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    clock.advance(stale)
    endpoint.failTransiently(true)
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(1)
    for (let i = 0; i < 5; i++) {
      clock.advance(100)
      expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    }
    expect(endpoint.refreshCalls).toBe(1)
    endpoint.failTransiently(false)
    clock.advance(1000)
    expect(await manager.accessTokenFor(session)).not.toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(2)
  })

  it('when the refresh failed on one instance, then another instance sharing Redis does not ask the provider until the backoff ends', async () => {
    const { endpoint, grants, manager, clock, start } = setup()
    const second = start()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    endpoint.failTransiently(true)
    await expect(manager.accessTokenFor(session)).rejects.toMatchObject({ code: 'idp_unavailable' })
    const err = await second.manager.accessTokenFor(session).catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 503, code: 'idp_unavailable' })
    expect((err as BffError).retryAfterSeconds).toBe(1)
    expect(endpoint.refreshCalls).toBe(1)
    endpoint.failTransiently(false)
    clock.advance(1000)
    await expect(second.manager.accessTokenFor(session)).resolves.toMatch(/^at-/)
    expect(endpoint.refreshCalls).toBe(2)
  })

  it('when the refresh keeps failing, then each backoff is longer than the last, up to 60 s', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    endpoint.failTransiently(true)
    const waits: number[] = []
    for (let i = 0; i < 9; i++) {
      const err = (await manager.accessTokenFor(session).catch((e: unknown) => e)) as BffError
      waits.push(err.retryAfterSeconds ?? 0)
      clock.advance((err.retryAfterSeconds ?? 0) * 1000)
    }
    expect(endpoint.refreshCalls).toBe(9)
    // equal jitter: the n-th wait lies in [2^(n-1)/2, 2^(n-1)] s, capped at [30, 60] s
    waits.forEach((w, n) => {
      const ceiling = Math.min(60, 2 ** n)
      expect(w).toBeGreaterThanOrEqual(Math.floor(ceiling / 2))
      expect(w).toBeLessThanOrEqual(ceiling)
    })
    expect(waits.at(-1)).toBeGreaterThanOrEqual(30)
  })
})
