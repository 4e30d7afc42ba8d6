import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogout, type Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { bffUser, loginWithSid, signingKey, signJwt, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// OpenID Connect Back-Channel Logout 1.0 at the broker's endpoint: tokens minted with the issuer's own key, so
// only the property under test is wrong.
const key = signingKey('k1')
const event = { 'http://schemas.openid.net/event/backchannel-logout': {} }
let idp: OidcWireServer
let broker: TestBroker
let redis: Redis

beforeAll(async () => {
  idp = await startOidcWireServer({ key, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
  broker = await startTestBroker({
    name: 'backchannel-logout', issuer: idp.issuer,
    // the broker's subject is another field than the ID token's sub: the logout token still names the sub
    config: { provider: { scopes: ['openid'], subjectClaim: 'preferred_username' } },
  })
  redis = new Redis(broker.redisUrl)
})
afterAll(async () => {
  redis.disconnect()
  await broker.stop()
  await idp.stop()
})

const user = (b: Browser) => bffUser(broker.origin, b)
/** Logs in a new browser whose ID token carries `sid` (and sub alice). (loginWithSid checks its /bff/user answers 200) */
const loggedIn = (sid: string): Promise<Browser> => loginWithSid(broker.origin, idp, sid)

function logoutToken(claims: Record<string, unknown>, header: Record<string, unknown> = { typ: 'logout+jwt' }) {
  const now = Math.floor(Date.now() / 1000)
  return signJwt(key, { iss: idp.issuer, aud: TEST_CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(), events: event, ...claims }, header)
}
const post = (token: string) => createBrowser().postForm(`${broker.origin}/bff/backchannel-logout`, { logout_token: token }, { xhr: true })

describe('back-channel logout: matching (§2.7)', () => {
  it('when a token names only the ID token sub and provider.subjectClaim is another field, then that user\'s sessions end', async () => {
    const b = await loggedIn(randomUUID())
    const res = await post(logoutToken({ sub: 'alice' }))
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect((await user(b)).status).toBe(401)
  })

  it('when a token names sid and sub, then the session of that sid ends and no other', async () => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    const other = await loggedIn(randomUUID())
    expect((await post(logoutToken({ sub: 'alice', sid }))).status).toBe(200)
    expect((await user(b)).status).toBe(401)
    expect((await user(other)).status).toBe(200)
  })
})

describe('back-channel logout: token checks (§2.4, §2.6)', () => {
  it('when the same token is posted twice, then the second is refused as a replay (400 invalid_request, no-store)', async () => {
    const sid = randomUUID()
    await loggedIn(sid)
    const token = logoutToken({ sid })
    expect((await post(token)).status).toBe(200)
    const b = await loggedIn(sid)
    const replay = await post(token)
    expect(replay.status).toBe(400)
    expect(replay.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(replay.body).error).toBe('invalid_request')
    expect((await user(b)).status).toBe(200)
  })

  it.each([
    ['its typ header says JWT', () => logoutToken({ sid: 'x' }, { typ: 'JWT' })],
    ['it has no exp', () => logoutToken({ sid: 'x', exp: undefined })],
  ])('when %s, then 400 invalid_request with Cache-Control no-store', async (_, token) => {
    const res = await post(token())
    expect(res.status).toBe(400)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(res.body).error).toBe('invalid_request')
  })
})

describe('back-channel logout: store failures answer 503, so the provider may retry (§2.5)', () => {
  it('when a session record cannot be read, then 503 and the same token, sent again once the store is back, ends it', async () => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    const [id] = await redis.smembers(`${broker.prefix}idx:sid:${sid}`)
    const sessionKey = `${broker.prefix}sess:${id}`
    // a real Redis error on the read (WRONGTYPE), the record kept aside
    await redis.rename(sessionKey, `${sessionKey}:aside`)
    await redis.hset(sessionKey, 'x', '1')
    const token = logoutToken({ sid })
    const failed = await post(token)
    expect(failed.status).toBe(503)
    expect(failed.headers['cache-control']).toBe('no-store')
    await redis.del(sessionKey)
    await redis.rename(`${sessionKey}:aside`, sessionKey)
    expect((await user(b)).status).toBe(200)
    expect((await post(token)).status).toBe(200)
    expect((await user(b)).status).toBe(401)
  })

  it('when the index lookup fails, then 503 and no session ends', async () => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    const indexKey = `${broker.prefix}idx:sid:${sid}`
    const members = await redis.smembers(indexKey)
    await redis.set(indexKey, 'not-a-set', 'PX', 60_000)
    expect((await post(logoutToken({ sid }))).status).toBe(503)
    expect((await user(b)).status).toBe(200)
    await redis.del(indexKey)
    await redis.sadd(indexKey, ...members)
  })
})

describe('back-channel logout from the real oidc-provider with provider.subjectClaim email', () => {
  let real: { broker: TestBroker; idp: RunningOidcProvider; stop(): Promise<void> }
  beforeAll(async () => {
    real = await startBrokerWithProvider({ name: 'backchannel-email', config: { provider: { subjectClaim: 'email' } } })
  })
  afterAll(() => real.stop())

  it('when the user logs out at the provider, then its logout token (sub and sid) ends the broker session', async () => {
    const b = createBrowser()
    await login(b, real.broker)
    const me = () => b.get(`${real.broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(JSON.parse((await me()).body).sub).toBe('alice@example.test')
    const before = real.idp.counts.backchannelLogouts
    await completeProviderLogout(b, new URL('/session/end', real.idp.issuer))
    await expect.poll(() => real.idp.counts.backchannelLogouts, { timeout: 5000 }).toBe(before + 1)
    await expect.poll(async () => (await me()).status, { timeout: 5000 }).toBe(401)
  })
})
