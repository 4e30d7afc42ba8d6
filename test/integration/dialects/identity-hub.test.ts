import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { startWireServer, type WireServer } from '../../support/wire/index.js'
import { codeFlowLogin, itRefusesMalformedCallbacks, json, startIdentityApi, xhr, type IdentityApi } from './support.js'

const creds = { clientId: 'hub-app', clientSecret: 'hub-app-secret' }
const tenant = 'acme'
const tokenPath = `/${tenant}/oauth2/v1/token/`
// access tokens live 4 s: the refresh skew is capped at half the lifetime, so a token is refreshed after 2 s
const ACCESS_TTL = 4
// the broker's clock: the tests move it past the refresh point instead of waiting
const clock = createOffsetClock()

let wire: WireServer
let upstream: Upstream
let me: IdentityApi
let broker: TestBroker

beforeAll(async () => {
  wire = await startWireServer('identity-hub', { ...creds, tenant, tokenAnswer: (answer) => ({ ...answer, expires_in: ACCESS_TTL }) })
  upstream = await startUpstream()
  // the how-to shows no ID token: the user comes from a user endpoint called with the access token
  me = await startIdentityApi(`/${tenant}/api/v1/me`, 'ih-at-', { sub: 'hub-user-17', email: 'user@acme.example' })
  broker = await startTestBroker({
    clock,
    name: 'dialect-identity-hub',
    config: {
      provider: {
        dialect: 'identity-hub', baseUrl: wire.url.href, tenant, ...creds, scopes: ['profile', 'api'], authorizationParams: {},
        userinfoEndpoint: me.url.href,
      },
      apis: [{ path: '/api/hub', target: `${upstream.url}/echo/hub`, token: 'user' }],
    },
  })
})
afterAll(async () => {
  await broker.stop()
  await Promise.all([wire.stop(), upstream.stop(), me.stop()])
})

const tokenRequests = () => wire.requests.filter((r) => r.path === tokenPath)

describe('identity-hub dialect through the broker', () => {
  it('when a user logs in, then the tenant paths get PKCE S256 and the client credentials in the form body', async () => {
    const b = createBrowser()
    const { authorizationUrl, callback } = await codeFlowLogin(b, broker, wire)
    expect(callback.status).toBe(302)
    expect(authorizationUrl.pathname).toBe('/acme/oauth2/v1/auth/')
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorizationUrl.searchParams.get('scope')).toBe('profile api')
    const token = tokenRequests().at(-1)!
    expect(token.headers.authorization).toBeUndefined()
    const form = new URLSearchParams(token.body)
    expect(form.get('client_id')).toBe(creds.clientId)
    expect(form.get('client_secret')).toBe(creds.clientSecret)
    expect(form.get('code_verifier')).toMatch(/^[\w-]{43,}$/)
    expect(json(await xhr(b, broker, '/bff/user'))).toMatchObject({ sub: 'hub-user-17', email: 'user@acme.example' })
    expect(wire.problems).toEqual([])
  })

  it('when the SPA calls an API, then the upstream gets Bearer and the Identity Hub access token', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    expect((await xhr(b, broker, '/api/hub/items')).status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.accessToken).toMatch(/^ih-at-/)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
  })

  it('when the access token is about to expire, then it is refreshed once at the tenant token path and the rotated refresh token is kept', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    const { grant: before } = await readSessionGrant(broker, b)
    clock.advance((ACCESS_TTL / 2) * 1000 + 300)
    const refreshesBefore = tokenRequests().length
    const results = await Promise.all(Array.from({ length: 5 }, () => xhr(b, broker, '/api/hub/items')))
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    expect(tokenRequests().length - refreshesBefore).toBe(1)
    const refresh = Object.fromEntries(new URLSearchParams(tokenRequests().at(-1)!.body))
    expect(refresh).toEqual({ grant_type: 'refresh_token', refresh_token: before!.tokens.refreshToken, ...{ client_id: creds.clientId, client_secret: creds.clientSecret } })
    const { grant: after } = await readSessionGrant(broker, b)
    expect(after!.tokens.refreshToken).not.toBe(before!.tokens.refreshToken)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${after!.tokens.accessToken}`)
    expect(wire.problems).toEqual([])
  })

  itRefusesMalformedCallbacks('identity-hub', () => ({ broker, wire, clientSecret: creds.clientSecret }), { namesUserOutsideTokenResponse: true })
})
