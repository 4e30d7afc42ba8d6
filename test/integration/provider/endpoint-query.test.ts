import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import { signingKey, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// RFC 6749 §3.1: "The endpoint URI MAY include an application/x-www-form-urlencoded formatted query component, which
// MUST be retained when adding additional query parameters" (Glewlwyd 2.7 and LemonLDAP::NG 2.16 deployments put a
// realm or plugin name there). And provider.endSessionParams: Glewlwyd ignores post_logout_redirect_uri without state.
let idp: OidcWireServer
let broker: TestBroker

beforeAll(async () => {
  idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
  const at = (path: string) => `${idp.issuer}${path}?realm=acme`
  broker = await startTestBroker({
    name: 'endpoint-query', issuer: idp.issuer,
    config: {
      provider: {
        scopes: ['openid'],
        authorizationEndpoint: at('/auth'), tokenEndpoint: at('/token'), userinfoEndpoint: at('/userinfo'),
        revocationEndpoint: at('/revoke'), endSessionEndpoint: at('/logout'),
        endSessionParams: { state: 'glewlwyd-needs-it' },
      },
    },
  })
})
afterAll(async () => {
  await broker.stop()
  await idp.stop()
})

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
const requestsTo = (path: string) => idp.requests.filter((r) => r.path === path)

describe('endpoint URLs with a query', () => {
  it('when the endpoints carry a query, then every request to them keeps it beside the broker\'s parameters', async () => {
    const b = createBrowser()
    const start = await b.get(`${broker.origin}/bff/login`)
    const authorizationUrl = new URL(start.location!)
    expect(authorizationUrl.pathname).toBe('/auth')
    expect(authorizationUrl.searchParams.get('realm')).toBe('acme')
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
    const authorize = await b.get(authorizationUrl)
    expect((await b.get(authorize.location!, { site: 'cross-site' })).status).toBe(302)
    expect(idp.problems).toEqual([])
    const [token] = requestsTo('/token')
    expect(token!.method).toBe('POST')
    expect(token!.query.get('realm')).toBe('acme')
    expect(new URLSearchParams(token!.body).get('grant_type')).toBe('authorization_code')
    expect(requestsTo('/userinfo').at(-1)!.query.get('realm')).toBe('acme')
    expect((await user(b)).status).toBe(200)

    const logoutUrl = JSON.parse((await user(b)).body).logoutUrl as string
    const res = await b.get(`${broker.origin}${logoutUrl}`, { site: 'same-origin' })
    expect(res.status).toBe(302)
    const endSession = new URL(res.location!)
    expect(endSession.pathname).toBe('/logout')
    expect(Object.fromEntries(endSession.searchParams)).toMatchObject({
      realm: 'acme', state: 'glewlwyd-needs-it', post_logout_redirect_uri: `${broker.origin}/`, id_token_hint: expect.stringMatching(/^ey/),
    })
    const revoke = requestsTo('/revoke').at(-1)!
    expect(revoke.query.get('realm')).toBe('acme')
    expect(new URLSearchParams(revoke.body).get('token_type_hint')).toBe('access_token')
  })
})
