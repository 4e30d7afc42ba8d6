import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import { keysWithPrefix } from '../../support/redis.js'
import { signHs256, signingKey, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// OIDC Core §3.1.3.7 against a provider whose keys the test holds: the ID token's signature (step 6), its iat
// (step 10), and the userinfo sub (§5.3.2). Tests run in order: the JWKS cache they share is part of the story.
const issuerKey = signingKey('k1')
let idp: OidcWireServer
let broker: TestBroker

beforeAll(async () => {
  idp = await startOidcWireServer({ key: issuerKey, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
  broker = await startTestBroker({ name: 'id-token-validation', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
})
afterAll(async () => {
  await broker.stop()
  await idp.stop()
})
afterEach(() => {
  vi.useRealTimers()
  Object.assign(idp.state, { signer: issuerKey, published: [issuerKey], idTokenClaims: () => ({}), userinfoSub: 'alice', metadata: {}, mint: undefined })
})

/** login → the issuer's authorize step → the callback; returns the callback's answer */
async function loginThrough(b: Browser, target: TestBroker = broker) {
  const start = await b.get(`${target.origin}/bff/login`)
  const authorize = await b.get(start.location!)
  return b.get(authorize.location!, { site: 'cross-site' })
}
const stored = async (target: TestBroker = broker) =>
  (await keysWithPrefix(target.redisUrl, target.prefix)).filter((k) => /:(sess|grant):/.test(k.key)).length
const user = (b: Browser, target: TestBroker = broker) => b.get(`${target.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

async function expectLoginFailed(b: Browser, target: TestBroker = broker) {
  const before = await stored(target)
  const res = await loginThrough(b, target)
  expect(res.status).toBe(400)
  expect(res.body).toContain('login_failed')
  expect(b.cookie(target.origin, 'bff-session')).toBeUndefined()
  expect((await user(b, target)).status).toBe(401)
  expect(await stored(target)).toBe(before)
}

describe('ID token signature (OIDC Core §3.1.3.7 step 6, invariant 4)', () => {
  it('when the issuer signs with its published key, then the login succeeds and the JWKS was fetched', async () => {
    const b = createBrowser()
    expect((await loginThrough(b)).status).toBe(302)
    expect((await user(b)).status).toBe(200)
    expect(idp.jwksFetches()).toBe(1)
  })

  it('when the ID token is signed by a foreign key under the published kid, then login_failed and nothing is stored', async () => {
    idp.state.signer = { ...signingKey('k1') }
    await expectLoginFailed(createBrowser())
    expect(broker.logs.some((l) => l.includes('signature verification failed'))).toBe(true)
  })

  it('when a token names an unknown kid right after a JWKS fetch, then login_failed without refetching (rate limit)', async () => {
    idp.state.signer = signingKey('k-unknown')
    await expectLoginFailed(createBrowser())
    expect(idp.jwksFetches()).toBe(1)
  })

  it('when the provider rotates to a new kid, then the next login refetches the JWKS once and succeeds', async () => {
    // oauth4webapi refetches for an unknown kid once its cached JWKS is a minute old: move the clock past that
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
    vi.setSystemTime(Date.now() + 61_000)
    const next = signingKey('k2')
    Object.assign(idp.state, { signer: next, published: [issuerKey, next] })
    const b = createBrowser()
    expect((await loginThrough(b)).status).toBe(302)
    expect(idp.jwksFetches()).toBe(2)
    expect((await loginThrough(createBrowser())).status).toBe(302)
    expect(idp.jwksFetches()).toBe(2)
  })

  it('when the ID token is HS256 with the client secret, even though the provider lists HS256, then login_failed', async () => {
    // asymmetric algorithms only: a symmetric signature proves nothing the client could not have made itself
    idp.state.metadata = { id_token_signing_alg_values_supported: ['HS256', 'RS256'] }
    idp.state.mint = (claims) => signHs256(TEST_CLIENT_SECRET, claims)
    // a broker of its own, so that its discovery sees HS256 listed
    const hs = await startTestBroker({ name: 'id-token-hs256', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
    try {
      await expectLoginFailed(createBrowser(), hs)
      expect(hs.logs.some((l) => l.includes('unsupported JWS algorithm'))).toBe(true)
    } finally {
      await hs.stop()
    }
  })
})

describe('ID token iat (OIDC Core §3.1.3.7 step 10)', () => {
  it('when the ID token was issued an hour ago (and has not expired), then login_failed', async () => {
    idp.state.idTokenClaims = (now) => ({ iat: now - 3600, exp: now + 600 })
    await expectLoginFailed(createBrowser())
  })

  it('when the ID token is issued in the future beyond the clock tolerance, then login_failed', async () => {
    idp.state.idTokenClaims = (now) => ({ iat: now + 120, exp: now + 600 })
    await expectLoginFailed(createBrowser())
  })

  it('when the ID token was issued within provider.idTokenIssuedWithinSeconds, then the login succeeds', async () => {
    idp.state.idTokenClaims = (now) => ({ iat: now - 200 })
    expect((await loginThrough(createBrowser())).status).toBe(302)
  })
})

describe('userinfo sub (OIDC Core §5.3.2)', () => {
  let named: TestBroker
  beforeAll(async () => {
    // the subject comes from userinfo, so the broker calls it after the ID token
    named = await startTestBroker({
      name: 'id-token-userinfo', issuer: idp.issuer,
      config: { provider: { scopes: ['openid'], subjectClaim: 'preferred_username' } },
    })
  })
  afterAll(() => named.stop())

  it('when userinfo answers about another sub than the ID token, then login_failed and nothing is stored', async () => {
    idp.state.userinfoSub = 'mallory'
    await expectLoginFailed(createBrowser(), named)
  })

  it('when userinfo answers about the ID token sub, then its claims name the user', async () => {
    const b = createBrowser()
    expect((await loginThrough(b, named)).status).toBe(302)
    expect(JSON.parse((await user(b, named)).body).sub).toBe('alice-name')
  })
})
