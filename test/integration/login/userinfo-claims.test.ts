import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { readSessionGrant } from '../../support/grants.js'
import { freePort } from '../../support/redis.js'
import { signingKey, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// OIDC Core §5.4: for the code flow a provider may release the profile scope's claims at userinfo only (Glewlwyd,
// LemonLDAP::NG, and oidc-provider with conformIdTokenClaims). The broker fetches userinfo at login and merges
// its claims under the ID token's.
type Fault = 'none' | 'network' | 'status_500' | 'invalid_token'
let fault: Fault = 'none'
let userinfoCalls = 0

const isUserinfo = (input: Parameters<typeof fetch>[0]) =>
  new URL(input instanceof Request ? input.url : String(input)).pathname.endsWith('/me')

/** openid-client's customFetch hook: fault injection at the userinfo endpoint only */
const providerFetch: typeof fetch = (input, init) => {
  if (!isUserinfo(input)) return fetch(input, init)
  userinfoCalls++
  if (fault === 'network') return Promise.reject(new TypeError('fetch failed'))
  if (fault === 'status_500') return Promise.resolve(new Response('{"error":"server_error"}', { status: 500 }))
  if (fault === 'invalid_token') {
    return Promise.resolve(new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }))
  }
  return fetch(input, init)
}

const user = async (b: Browser, target: TestBroker) =>
  JSON.parse((await b.get(`${target.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body) as Record<string, unknown>

describe('profile claims released at userinfo only (oidc-provider, conformIdTokenClaims)', () => {
  let broker: TestBroker
  let idp: RunningOidcProvider
  let stop: () => Promise<void>
  let offPort: number
  beforeAll(async () => {
    const port = await freePort()
    offPort = await freePort()
    const redirectUris = [port, offPort].map((p) => `http://127.0.0.1:${p}/bff/callback`)
    ;({ broker, idp, stop } = await startBrokerWithProvider({
      name: 'userinfo-claims', port, providerFetch, idp: { conformIdTokenClaims: true, redirectUris },
    }))
  })
  afterAll(() => stop())
  afterEach(() => {
    fault = 'none'
  })

  it('when the ID token holds only sub, then /bff/user shows name and email from userinfo', async () => {
    const b = createBrowser()
    const calls = userinfoCalls
    expect((await login(b, broker)).res.status).toBe(302)
    const { grant } = await readSessionGrant(broker, b)
    // the ID token itself names only the user (the grant keeps the token, not its parsed claims)
    const idTokenPayload = JSON.parse(Buffer.from(grant!.tokens.idToken!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(idTokenPayload).not.toHaveProperty('name')
    expect(await user(b, broker)).toMatchObject({ sub: 'alice', name: 'Alice Liddell', email: 'alice@example.test', email_verified: true })
    expect(userinfoCalls - calls).toBe(1)
  })

  it.each(['network', 'status_500', 'invalid_token'] as const)(
    'when userinfo fails at login (%s), then the login succeeds with the ID token claims and a warning is logged',
    async (which) => {
      fault = which
      const b = createBrowser()
      expect((await login(b, broker)).res.status).toBe(302)
      const claims = await user(b, broker)
      expect(claims.sub).toBe('alice')
      expect(claims).not.toHaveProperty('name')
      expect(broker.logs.some((l) => l.includes('"event":"login.userinfo_skipped"'))).toBe(true)
    },
  )

  it('when provider.fetchUserinfo is false, then userinfo is not called and only the ID token claims show', async () => {
    const off = await startTestBroker({ name: 'userinfo-off', issuer: idp.issuer, port: offPort, providerFetch, config: { provider: { fetchUserinfo: false } } })
    try {
      const b = createBrowser()
      const calls = userinfoCalls
      expect((await login(b, off)).res.status).toBe(302)
      expect(await user(b, off)).not.toHaveProperty('name')
      expect(userinfoCalls).toBe(calls)
    } finally {
      await off.stop()
    }
  })
})

describe('userinfo merged under the ID token (wire OIDC issuer)', () => {
  let idp: OidcWireServer
  let broker: TestBroker
  beforeAll(async () => {
    idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
    broker = await startTestBroker({ name: 'userinfo-merge', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
  })
  afterAll(async () => {
    await broker.stop()
    await idp.stop()
  })
  afterEach(() => {
    idp.state.userinfoSub = 'alice'
    idp.state.idTokenClaims = () => ({})
  })
  const loginThrough = async (b: Browser) => {
    const start = await b.get(`${broker.origin}/bff/login`)
    const authorize = await b.get(start.location!)
    return b.get(authorize.location!, { site: 'cross-site' })
  }

  it('when userinfo and the ID token both name a claim, then the ID token wins and the rest of userinfo is kept', async () => {
    idp.state.idTokenClaims = () => ({ preferred_username: 'from-id-token' })
    const b = createBrowser()
    expect((await loginThrough(b)).status).toBe(302)
    expect((await user(b, broker)).preferred_username).toBe('from-id-token')
    idp.state.idTokenClaims = () => ({})
    const other = createBrowser()
    expect((await loginThrough(other)).status).toBe(302)
    expect((await user(other, broker)).preferred_username).toBe('alice-name')
  })

  it('when userinfo answers about another sub than the ID token, then login_failed and no session', async () => {
    idp.state.userinfoSub = 'mallory'
    const b = createBrowser()
    const res = await loginThrough(b)
    expect(res.status).toBe(400)
    expect(res.body).toContain('login_failed')
    expect(b.cookie(broker.origin, 'bff-session')).toBeUndefined()
  })
})
