import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, testConfig, type TestBroker } from '../../support/start-app.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { redisUrl } from '../../support/redis.js'
import { samsungTokenPath, startWireServer, type WireServer } from '../../support/wire/index.js'
import { codeFlowLogin, itRefusesMalformedCallbacks, json, xhr } from './support.js'

const creds = { clientId: 'knox-portal', clientSecret: 'knox-secret-value' }

let wire: WireServer
let upstream: Upstream
let broker: TestBroker

// the docs give no token endpoint path: the operator sets provider.tokenEndpoint (the preset demands it)
const provider = () => ({
  dialect: 'samsung-account', baseUrl: wire.url.href, ...creds,
  tokenEndpoint: new URL(samsungTokenPath, wire.url).href, scopes: [], authorizationParams: {},
})

beforeAll(async () => {
  wire = await startWireServer('samsung-account', creds)
  upstream = await startUpstream()
  broker = await startTestBroker({
    name: 'dialect-samsung-account',
    config: { provider: provider(), apis: [{ path: '/api/kcs', target: `${upstream.url}/echo/kcs`, token: 'user' }] },
  })
})
afterAll(async () => {
  await broker.stop()
  await Promise.all([wire.stop(), upstream.stop()])
})

describe('samsung-account dialect through the broker', () => {
  it('when a user logs in, then signInGate gets response_type=CODE and the token endpoint a JSON body with the client in it', async () => {
    const b = createBrowser()
    const { authorizationUrl, callback } = await codeFlowLogin(b, broker, wire)
    expect(callback.status).toBe(302)
    expect(authorizationUrl.pathname).toBe('/accounts/dfltThirdParty/signInGate')
    expect(authorizationUrl.searchParams.get('response_type')).toBe('CODE')
    expect(authorizationUrl.searchParams.has('scope')).toBe(false)
    const token = wire.requests.filter((r) => r.path === samsungTokenPath).at(-1)!
    expect(token.headers['content-type']).toMatch(/^application\/json/)
    expect(token.headers.authorization).toBeUndefined()
    const body = JSON.parse(token.body) as Record<string, unknown>
    expect(body).toMatchObject({ ...{ client_id: creds.clientId, client_secret: creds.clientSecret }, grant_type: 'authorization_code', redirect_uri: `${broker.origin}/bff/callback` })
    expect(Object.keys(body).sort()).toEqual(['client_id', 'client_secret', 'code', 'code_verifier', 'grant_type', 'redirect_uri'])
    expect(wire.problems).toEqual([])
  })

  it('when the token answer names the user in userId with refresh_token -1, then /bff/user shows that sub and no refresh token is kept', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    const user = json(await xhr(b, broker, '/bff/user'))
    expect(user.sub).toBe('y0zpz')
    expect(typeof user.sessionExpiresAt).toBe('number')
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.refreshToken).toBeUndefined()
    expect(grant!.tokens.expiresIn).toBe(3600)
  })

  it('when the SPA calls an API, then the upstream gets Bearer and the Samsung Account access token', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    expect((await xhr(b, broker, '/api/kcs/session')).status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(grant!.tokens.accessToken).toMatch(/^sa-at-/)
    expect(wire.problems).toEqual([])
  })

  it('when the token endpoint is not configured, then the config is refused naming provider.tokenEndpoint', () => {
    const { tokenEndpoint: _omitted, ...rest } = provider()
    expect(() => testConfig({ name: 'sa-config', port: 3000, redisUrl: redisUrl(), config: { provider: rest } }))
      .toThrow(/provider\.tokenEndpoint: the samsung-account dialect documents no token endpoint path/)
  })

  itRefusesMalformedCallbacks('samsung-account', () => ({ broker, wire, clientSecret: creds.clientSecret }), { namesUserOutsideTokenResponse: false })
})
