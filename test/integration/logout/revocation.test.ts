import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import { readSessionGrant } from '../../support/grants.js'
import { signingKey, startOidcWireServer } from '../../support/wire/oidc.js'

// RFC 7009 §2.1 at logout: the access token too (token_type_hint=access_token), since a JWT access token otherwise
// stays valid at introspecting APIs until it expires, whatever became of the refresh token.
const user = (b: Browser, broker: TestBroker) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
const logout = async (b: Browser, broker: TestBroker) =>
  b.get(`${broker.origin}${JSON.parse((await user(b, broker)).body).logoutUrl as string}`, { site: 'same-origin' })
const events = (broker: TestBroker, event: string) => broker.logs.filter((l) => l.includes(`"event":"${event}"`))

describe('logout revokes the access token (oidc-provider)', () => {
  let broker: TestBroker
  let idp: RunningOidcProvider
  let stop: () => Promise<void>
  beforeAll(async () => {
    // no offline_access: no refresh token, so before this change logout revoked nothing at all
    ;({ broker, idp, stop } = await startBrokerWithProvider({ name: 'logout-revocation', config: { provider: { scopes: ['openid', 'profile'] } } }))
  })
  afterAll(() => stop())
  const userinfo = (accessToken: string) => fetch(new URL('/me', idp.issuer), { headers: { authorization: `Bearer ${accessToken}` } })

  it('when a session without a refresh token logs out, then its access token is revoked and dead at the provider', async () => {
    const b = createBrowser()
    await login(b, broker)
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.refreshToken).toBeUndefined()
    const accessToken = grant!.tokens.accessToken
    expect((await userinfo(accessToken)).status).toBe(200)
    const hints = idp.counts.revocationHints.length
    expect((await logout(b, broker)).status).toBe(302)
    expect(idp.counts.revocationHints.slice(hints)).toEqual(['access_token'])
    expect((await userinfo(accessToken)).status).toBe(401)
  })

  it('when the provider has a revocation endpoint, then no warning about it at start', () => {
    expect(events(broker, 'provider.no_revocation_endpoint')).toEqual([])
  })
})

describe('a provider without a revocation endpoint', () => {
  it('when the broker loads its metadata, then it warns once that logout revokes nothing there', async () => {
    const idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
    const broker = await startTestBroker({ name: 'no-revocation', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
    try {
      const b = createBrowser()
      const start = await b.get(`${broker.origin}/bff/login`)
      const callback = await b.get(start.location!)
      expect((await b.get(callback.location!, { site: 'cross-site' })).status).toBe(302)
      expect((await logout(b, broker)).status).toBe(302)
      const lines = events(broker, 'provider.no_revocation_endpoint')
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: expect.stringContaining('logout revokes nothing') })
      expect(idp.requests.some((r) => r.path.includes('revoke'))).toBe(false)
    } finally {
      await broker.stop()
      await idp.stop()
    }
  })
})
