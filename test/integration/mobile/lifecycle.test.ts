import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithUpstream, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogout } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { keysWithPrefix } from '../../support/redis.js'
import type { Upstream } from '../../support/upstream.js'
import { Redis } from 'ioredis'
import { signingKey, signJwt, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'
import { createTestClock } from '../../support/clock.js'
import { loggedIn, mobileBrokerConfig, proofFor, storedForHandle, withHandle } from './support.js'

// A mobile session ends like a browser one (invariants 7 and 18): logout, back-channel logout, idle and absolute
// timeouts; and its per-user index entry keeps the mobile lifetime.

const basic = `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`
const user = (broker: TestBroker, session: { handle: string; key: Parameters<typeof proofFor>[0] }) =>
  withHandle(broker, '/bff/user', session.handle, { key: session.key })

describe('logout and back-channel logout at the real oidc-provider', () => {
  let broker: TestBroker
  let idp: RunningOidcProvider
  let stop: () => Promise<void>
  beforeAll(async () => {
    ;({ broker, idp, stop } = await startBrokerWithUpstream((url) => ({ name: 'mobile-lifecycle', config: mobileBrokerConfig(url) })))
  })
  afterAll(() => stop())

  /** RFC 6749 §6 at the provider itself: a revoked refresh token answers invalid_grant. */
  const refreshAtProvider = (refreshToken: string) =>
    fetch(new URL('/token', idp.issuer), {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    })

  it('when the app logs out, then 204, the refresh token is revoked at the provider and the handle is 401', async () => {
    const session = await loggedIn(broker)
    const { grant, grantKey } = await storedForHandle(broker, session.handle)
    const refreshToken = grant!.tokens.refreshToken!
    expect(refreshToken).toBeTruthy()
    const revocations = idp.counts.revocations
    const out = await withHandle(broker, '/bff/mobile/logout', session.handle, { key: session.key, method: 'POST' })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toBeNull()
    // RFC 7009: the refresh token and the access token
    expect(idp.counts.revocations).toBe(revocations + 2)
    const refresh = await refreshAtProvider(refreshToken)
    expect(refresh.status).toBe(400)
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
    const after = await user(broker, session)
    expect(after.status).toBe(401)
    expect(after.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
    const stored = await storedForHandle(broker, session.handle)
    expect(stored.session).toBeUndefined()
    expect((await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key)).not.toContain(grantKey)
  })

  it('when the user logs out at the provider, then its back-channel logout token (sid and sub) ends the mobile session', async () => {
    const session = await loggedIn(broker)
    const other = await loggedIn(broker, { user: 'bob' })
    const before = idp.counts.backchannelLogouts
    await completeProviderLogout(session.login.browser, new URL('/session/end', idp.issuer))
    await expect.poll(() => idp.counts.backchannelLogouts, { timeout: 5000 }).toBe(before + 1)
    await expect.poll(async () => (await user(broker, session)).status, { timeout: 5000 }).toBe(401)
    expect((await user(broker, other)).status).toBe(200)
  })

  it('when the same user then logs in with a short browser session, then the per-user index keeps the mobile lifetime', async () => {
    await loggedIn(broker, { user: 'bob' })
    const indexKey = `${broker.prefix}idx:sub:bob`
    const ttlOf = async () => (await keysWithPrefix(broker.redisUrl, indexKey)).find((k) => k.key === indexKey)?.ttlMs ?? -2
    const mobileTtl = await ttlOf()
    expect(mobileTtl).toBeGreaterThan((broker.config.mobile.absoluteTimeoutSeconds - 60) * 1000)
    await login(createBrowser(), broker, { user: 'bob' })
    expect(await ttlOf()).toBeGreaterThan((broker.config.mobile.absoluteTimeoutSeconds - 60) * 1000)
    expect(broker.config.session.absoluteTimeoutSeconds * 1000).toBeLessThan(mobileTtl)
  })
})

describe('back-channel logout tokens naming only a sid or only a sub (OIDC Back-Channel Logout 1.0 §2.4)', () => {
  const key = signingKey('k1')
  let idp: OidcWireServer
  let broker: TestBroker
  beforeAll(async () => {
    idp = await startOidcWireServer({ key, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
    broker = await startTestBroker({
      name: 'mobile-backchannel',
      issuer: idp.issuer,
      config: { ...mobileBrokerConfig('http://127.0.0.1:9'), provider: { scopes: ['openid'] } },
    })
  })
  afterAll(async () => {
    await broker.stop()
    await idp.stop()
  })

  const post = (claims: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000)
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} }
    const token = signJwt(key, { iss: idp.issuer, aud: TEST_CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(), events, ...claims }, { typ: 'logout+jwt' })
    return fetch(`${broker.origin}/bff/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    })
  }
  const withSid = async (sid: string) => {
    idp.state.idTokenClaims = () => ({ sid })
    return loggedIn(broker)
  }

  it('when the logout token names the sid of the mobile login, then that handle is 401 and another login lives on', async () => {
    const sid = randomUUID()
    const session = await withSid(sid)
    const other = await withSid(randomUUID())
    expect((await user(broker, session)).status).toBe(200)
    expect((await post({ sid })).status).toBe(200)
    expect((await user(broker, session)).status).toBe(401)
    expect((await user(broker, other)).status).toBe(200)
  })

  it('when the logout token names only the sub, then every mobile session of that user is 401', async () => {
    const first = await withSid(randomUUID())
    const second = await withSid(randomUUID())
    expect((await post({ sub: 'alice' })).status).toBe(200)
    expect((await user(broker, first)).status).toBe(401)
    expect((await user(broker, second)).status).toBe(401)
  })
})

describe('idle and absolute timeouts of a handle', () => {
  const IDLE = 2
  const ABSOLUTE = 3600
  const clock = createTestClock()
  let broker: TestBroker
  let upstream: Upstream
  let stop: () => Promise<void>
  beforeAll(async () => {
    ;({ broker, upstream, stop } = await startBrokerWithUpstream((url) => ({
      name: 'mobile-timeouts',
      clock,
      config: mobileBrokerConfig(url, { idleTimeoutSeconds: IDLE, absoluteTimeoutSeconds: ABSOLUTE }),
    })))
  })
  afterAll(() => stop())

  it('when the handle is used, then its session record lives exactly the idle timeout in Redis, and unused it ends (401)', async () => {
    const session = await loggedIn(broker)
    expect((await user(broker, session)).status).toBe(200)
    const { sessionTtlMs } = await storedForHandle(broker, session.handle)
    expect(sessionTtlMs).toBeGreaterThan((IDLE - 1) * 1000)
    expect(sessionTtlMs).toBeLessThanOrEqual(IDLE * 1000)
    await expect.poll(async () => (await storedForHandle(broker, session.handle)).sessionTtlMs, { timeout: (IDLE + 2) * 1000, interval: 200 }).toBe(-2)
    const res = await user(broker, session)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
  })

  it('when the absolute timeout has passed, then 401 session_expired with the DPoP invalid_token challenge, with or without a proof', async () => {
    const session = await loggedIn(broker)
    const unproven = await loggedIn(broker)
    expect(session.expiresIn).toBe(ABSOLUTE)
    clock.advance((ABSOLUTE + 1) * 1000)
    try {
      const bare = await withHandle(broker, '/bff/user', unproven.handle, { proof: null })
      expect(bare.status).toBe(401)
      expect(await bare.json()).toMatchObject({ error: 'session_expired' })
      expect(bare.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
      const url = `${broker.origin}/bff/user`
      const proof = await proofFor(session.key, 'GET', url, session.handle, { iat: Math.floor(clock.now() / 1000) })
      const res = await withHandle(broker, '/bff/user', session.handle, { proof })
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ error: 'session_expired' })
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
      expect((await storedForHandle(broker, session.handle)).session).toBeUndefined()
    } finally {
      clock.advance(-(ABSOLUTE + 1) * 1000)
    }
  })
  it('when the grant behind a handle is gone, then the API call answers 401 session_expired with the DPoP challenge and never reaches the upstream', async () => {
    const session = await loggedIn(broker)
    const { grantKey } = await storedForHandle(broker, session.handle)
    const redis = new Redis(broker.redisUrl)
    await redis.del(grantKey!)
    redis.disconnect()
    const seen = upstream.requests.length
    const res = await withHandle(broker, '/api/orders/1', session.handle, { key: session.key })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'session_expired' })
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
    expect(upstream.requests.length).toBe(seen)
    expect((await user(broker, session)).status).toBe(401)
  })
})
