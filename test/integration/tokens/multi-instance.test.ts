import { afterEach, describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { redisKeys } from '../../../src/session/keys.js'
import type { LockOptions } from '../../../src/tokens/lock.js'
import { redisUrl, uniquePrefix } from '../../support/redis.js'
import { login, startInstance, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { createTokenEndpoint, type TokenEndpointOptions } from './support/token-endpoint.js'

const expired = 301_000

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

/** Two broker instances (separate ioredis clients and managers) sharing one Redis and one provider. */
function twoInstances(endpointOptions: Partial<TokenEndpointOptions> = {}, lock?: Partial<LockOptions>) {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock, ...endpointOptions })
  const prefix = uniquePrefix('tokens-instances')
  const a = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock, lock })
  const b = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock, lock })
  open.push(a, b)
  return { clock, endpoint, prefix, a, b }
}

const concurrently = (n: number, call: (i: number) => Promise<string>) =>
  Promise.all(Array.from({ length: n }, (_, i) => call(i)))

describe('refresh across instances (invariant 10)', () => {
  it('when 50 concurrent calls on one expired grant are split across two instances, then exactly one refresh runs and all get the same token', async () => {
    const { endpoint, clock, a, b } = twoInstances({ delayMs: 50 })
    const session = await login(a.grants, endpoint.issue(), clock)
    clock.advance(expired)
    const results = await concurrently(50, (i) => (i % 2 ? a : b).manager.accessTokenFor(session))
    expect(endpoint.refreshCalls).toBe(1)
    expect(endpoint.replays).toBe(0)
    expect(new Set(results).size).toBe(1)
    expect(results[0]).toBe((await b.grants.get(session.grantId))?.tokens.accessToken)
  })

  it('when a refresh takes longer than the lock lease, then the renewed lease still allows exactly one refresh', async () => {
    const { endpoint, clock, a, b } = twoInstances({ delayMs: 700 }, { leaseMs: 150, waitMs: 5000 })
    const session = await login(a.grants, endpoint.issue(), clock)
    clock.advance(expired)
    const results = await concurrently(50, (i) => (i % 2 ? a : b).manager.accessTokenFor(session))
    expect(endpoint.refreshCalls).toBe(1)
    expect(endpoint.replays).toBe(0)
    expect(new Set(results).size).toBe(1)
  })

  it('when a newer grant version is written while a refresh is in flight, then the stale writer does not overwrite it', async () => {
    const { endpoint, clock, a, b } = twoInstances()
    const session = await login(a.grants, endpoint.issue(), clock)
    clock.advance(expired)
    const newer = { accessToken: 'written-by-someone-newer', tokenType: 'Bearer', refreshToken: 'rt-newer' }
    endpoint.duringRefresh = async () => {
      const grant = await b.grants.get(session.grantId)
      if (grant) await b.grants.put({ ...grant, version: 7, tokens: newer }, 60_000)
    }
    await a.manager.accessTokenFor(session)
    expect(await b.grants.get(session.grantId)).toMatchObject({ version: 7, tokens: newer })
  })
})

describe('rotation grace', () => {
  /** A refresh rotates RT1 → RT2 (version 2); then the old record (version 1, RT1) comes back, as after a lost write. */
  async function rotatedThenRolledBack() {
    const setup = twoInstances()
    const { endpoint, clock, prefix, a } = setup
    const session = await login(a.grants, endpoint.issue(), clock)
    const grantKey = redisKeys(prefix).grant(session.grantId)
    const v1 = (await a.store.get(grantKey))!
    clock.advance(expired)
    const refreshed = await a.manager.accessTokenFor(session)
    const v2 = (await a.store.get(grantKey))!
    await a.store.set(grantKey, v1, 60_000)
    return { ...setup, session, grantKey, v2, refreshed }
  }

  it('when an instance reads a grant whose refresh token was just rotated, then it waits for the new version and returns its token instead of replaying', async () => {
    const { endpoint, b, session, grantKey, v2, refreshed } = await rotatedThenRolledBack()
    setTimeout(() => void b.store.set(grantKey, v2, 60_000), 150)
    expect(await b.manager.accessTokenFor(session)).toBe(refreshed)
    expect(endpoint.refreshCalls).toBe(1)
    expect(endpoint.replays).toBe(0)
    expect((await b.metrics.rotationGraceHits.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { outcome: 'caught_up' } })])
  })

  it('when the newer grant never shows up within the grace, then the answer is idp_unavailable and the rotated refresh token is not presented', async () => {
    const { endpoint, b, session } = await rotatedThenRolledBack()
    const error = await b.manager.accessTokenFor(session).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BffError)
    expect(error).toMatchObject({ code: 'idp_unavailable', status: 503 })
    expect(endpoint.refreshCalls).toBe(1)
    expect(endpoint.replays).toBe(0)
    expect(await b.grants.get(session.grantId)).toMatchObject({ version: 1 })
    expect((await b.metrics.rotationGraceHits.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { outcome: 'unavailable' } })])
  })
})
