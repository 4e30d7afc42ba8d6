import { afterEach, describe, expect, it } from 'vitest'
import { BffError } from '../../../src/errors.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../../support/redis.js'
import { login, startInstance, countingStore, type Instance } from './support/instances.js'
import { createTestClock } from '../../support/clock.js'
import { createTokenEndpoint, type TokenEndpointOptions } from './support/token-endpoint.js'

// Tokens live 300 s and the skew is 60 s, shortened per grant by up to half (refresh jitter): at +271 s every token is
// stale but valid, at +301 s it has expired.
const stale = 271_000
const expired = 301_000

const open: Instance[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()))
})

function setup(endpointOptions: Partial<TokenEndpointOptions> = {}, calls?: string[]) {
  const clock = createTestClock()
  const endpoint = createTokenEndpoint({ clock, ...endpointOptions })
  const prefix = uniquePrefix('tokens-manager')
  const wrapStore = calls ? (store: Parameters<typeof countingStore>[0]) => countingStore(store, calls) : undefined
  const instance = startInstance({ url: redisUrl(), prefix, provider: endpoint.provider, clock, wrapStore })
  open.push(instance)
  return { clock, endpoint, prefix, instance, ...instance }
}

const codeOf = (err: unknown) => (err instanceof BffError ? { code: err.code, status: err.status } : err)

describe('token manager: fresh or refresh', () => {
  it('when the access token is fresh, then it is returned after one store read, with no refresh and no write', async () => {
    const calls: string[] = []
    const { endpoint, grants, manager, clock } = setup({}, calls)
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    calls.length = 0
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    expect(calls).toEqual(['get'])
    expect(endpoint.refreshCalls).toBe(0)
    expect((await grants.get(session.grantId))?.version).toBe(1)
  })

  it('when the access token has expired, then exactly one refresh runs and the rotated token set is stored', async () => {
    const { endpoint, grants, manager, clock, prefix, metrics } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    clock.advance(expired)
    const fresh = await manager.accessTokenFor(session)
    expect(fresh).not.toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(1)
    const grant = await grants.get(session.grantId)
    expect(grant).toMatchObject({ version: 2, tokens: { accessToken: fresh, idToken: tokens.idToken } })
    expect(grant?.tokens.refreshToken).not.toBe(tokens.refreshToken)
    // the next call is on the hot path again
    expect(await manager.accessTokenFor(session)).toBe(fresh)
    expect(endpoint.refreshCalls).toBe(1)
    expect((await metrics.tokenRefreshes.get()).values).toEqual([
      expect.objectContaining({ value: 1, labels: { outcome: 'ok' } }),
    ])
    // invariant 14: the grant, the rotation grace record and nothing else, each with a TTL
    const keys = await keysWithPrefix(redisUrl(), prefix)
    expect(keys.map((k) => k.key.slice(prefix.length).split(':')[0]).sort()).toEqual(['grant', 'rotated'])
    for (const k of keys) expect(k.ttlMs).toBeGreaterThan(0)
  })

  it('when the token is inside the skew but not expired, then it is refreshed ahead of time', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    clock.advance(239_000)
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    clock.advance(stale - 239_000)
    expect(await manager.accessTokenFor(session)).not.toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(1)
  })

  it('when 50 concurrent requests hit one expired grant, then one refresh runs and all get the same new token', async () => {
    const { endpoint, grants, manager, clock } = setup({ delayMs: 50 })
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    const results = await Promise.all(Array.from({ length: 50 }, () => manager.accessTokenFor(session)))
    expect(endpoint.refreshCalls).toBe(1)
    expect(new Set(results).size).toBe(1)
    expect(results[0]).toBe((await grants.get(session.grantId))?.tokens.accessToken)
  })

  it('when the provider does not rotate, then the refresh token just used stays in the grant (RFC 6749 §6)', async () => {
    const { endpoint, grants, manager, clock } = setup({ rotate: false })
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    clock.advance(expired)
    await manager.accessTokenFor(session)
    clock.advance(expired)
    await manager.accessTokenFor(session)
    expect(endpoint.refreshCalls).toBe(2)
    expect((await grants.get(session.grantId))?.tokens.refreshToken).toBe(tokens.refreshToken)
  })
})

describe('token manager: failures (invariant 9)', () => {
  it('when the grant record is missing, then session_expired is thrown without a provider call', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    await grants.delete(session.grantId)
    expect(codeOf(await manager.accessTokenFor(session).catch((e) => e))).toEqual({ code: 'session_expired', status: 401 })
    expect(endpoint.refreshCalls).toBe(0)
  })

  it('when the provider answers invalid_grant, then the grant is deleted and session_expired is thrown', async () => {
    const { endpoint, grants, manager, clock, metrics } = setup()
    const session = await login(grants, { ...endpoint.issue(), refreshToken: 'rt-revoked-at-the-provider' }, clock)
    clock.advance(expired)
    expect(codeOf(await manager.accessTokenFor(session).catch((e) => e))).toEqual({ code: 'session_expired', status: 401 })
    expect(await grants.get(session.grantId)).toBeUndefined()
    expect((await metrics.tokenRefreshes.get()).values).toEqual([
      expect.objectContaining({ value: 1, labels: { outcome: 'invalid_grant' } }),
    ])
  })

  it('when the access token has expired and there is no refresh token, then the grant is dropped and session_expired is thrown', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const session = await login(grants, { ...endpoint.issue(), refreshToken: undefined }, clock)
    clock.advance(expired)
    expect(codeOf(await manager.accessTokenFor(session).catch((e) => e))).toEqual({ code: 'session_expired', status: 401 })
    expect(await grants.get(session.grantId)).toBeUndefined()
    expect(endpoint.refreshCalls).toBe(0)
  })

  it('when there is no refresh token but the token is still valid, then it keeps being served', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = { ...endpoint.issue(), refreshToken: undefined }
    const session = await login(grants, tokens, clock)
    clock.advance(stale)
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    expect(endpoint.refreshCalls).toBe(0)
  })

  it('when the provider is unreachable and the token is still valid, then the old token is returned and the grant kept', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const tokens = endpoint.issue()
    const session = await login(grants, tokens, clock)
    clock.advance(stale)
    endpoint.failTransiently(true)
    expect(await manager.accessTokenFor(session)).toBe(tokens.accessToken)
    expect(await grants.get(session.grantId)).toMatchObject({ version: 1, tokens: { refreshToken: tokens.refreshToken } })
  })

  it('when the provider is unreachable and the token has expired, then idp_unavailable (503) is thrown, the grant kept, and a later call recovers', async () => {
    const { endpoint, grants, manager, clock, metrics } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    endpoint.failTransiently(true)
    expect(codeOf(await manager.accessTokenFor(session).catch((e) => e))).toEqual({ code: 'idp_unavailable', status: 503 })
    expect(await grants.get(session.grantId)).toMatchObject({ version: 1 })
    expect((await metrics.tokenRefreshes.get()).values).toEqual([
      expect.objectContaining({ value: 1, labels: { outcome: 'transient' } }),
    ])
    endpoint.failTransiently(false)
    // the grant's backoff (at most 1 s after one failure) ends before the provider is asked again
    clock.advance(1000)
    await expect(manager.accessTokenFor(session)).resolves.toMatch(/^at-/)
    expect(await grants.get(session.grantId)).toMatchObject({ version: 2 })
  })

  it('when the session logs out while a refresh is in flight, then the grant is not brought back', async () => {
    const { endpoint, grants, manager, clock } = setup()
    const session = await login(grants, endpoint.issue(), clock)
    clock.advance(expired)
    endpoint.duringRefresh = () => grants.delete(session.grantId)
    expect(codeOf(await manager.accessTokenFor(session).catch((e) => e))).toEqual({ code: 'session_expired', status: 401 })
    expect(await grants.get(session.grantId)).toBeUndefined()
  })
})
