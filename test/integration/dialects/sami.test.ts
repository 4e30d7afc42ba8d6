import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { startWireServer, type WireServer } from '../../support/wire/index.js'
import { codeFlowLogin, itRefusesMalformedCallbacks, json, startIdentityApi, xhr, type IdentityApi } from './support.js'

// the documented example client: Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW
const creds = { clientId: 's6BhdRkqt3', clientSecret: 'gX1fBat3bV' }
// access tokens live 4 s: the refresh skew is capped at half the lifetime, so a token is refreshed after 2 s
const ACCESS_TTL = 4
// the broker's clock: the tests move it past the refresh point instead of waiting
const clock = createOffsetClock()

let wire: WireServer
let upstream: Upstream
let me: IdentityApi
let broker: TestBroker

beforeAll(async () => {
  wire = await startWireServer('sami', { ...creds, tokenAnswer: (answer) => ({ ...answer, expires_in: ACCESS_TTL }) })
  upstream = await startUpstream()
  // SAMI names the user at the API's GET /users/self ({ data: { id, … } }), not in the token answer
  me = await startIdentityApi('/v1.1/users/self', 'sami-at-', { data: { id: 'f0e1d2c3', name: 'Sami User' } })
  broker = await startTestBroker({
    clock,
    name: 'dialect-sami',
    config: {
      provider: {
        dialect: 'sami', baseUrl: wire.url.href, ...creds,
        scopes: ['read', 'write'], authorizationParams: {},
        userinfoEndpoint: me.url.href, subjectClaim: 'data.id',
      },
      apis: [
        { path: '/api/devices', target: `${upstream.url}/echo/devices`, token: 'user' },
        { path: '/api/app', target: `${upstream.url}/echo/app`, token: 'client', anonymous: true, scopes: ['read', 'write'] },
      ],
    },
  })
})
afterAll(async () => {
  await broker.stop()
  await Promise.all([wire.stop(), upstream.stop(), me.stop()])
})

const tokenRequests = () => wire.requests.filter((r) => r.path === '/token')

describe('sami dialect through the broker', () => {
  it('when a user logs in, then /authorize gets scope=read,write, /token the documented Basic header, and /bff/user the users/self id', async () => {
    const b = createBrowser()
    const { authorizationUrl, callback } = await codeFlowLogin(b, broker, wire)
    expect(callback.status).toBe(302)
    expect(authorizationUrl.pathname).toBe('/authorize')
    expect(authorizationUrl.searchParams.get('scope')).toBe('read,write')
    expect(authorizationUrl.searchParams.get('response_type')).toBe('code')
    const token = tokenRequests().at(-1)!
    expect(token.headers.authorization).toBe('Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW')
    const form = new URLSearchParams(token.body)
    expect(form.get('grant_type')).toBe('authorization_code')
    expect(form.get('redirect_uri')).toBe(`${broker.origin}/bff/callback`)
    expect(form.has('client_secret')).toBe(false)
    const user = json(await xhr(b, broker, '/bff/user'))
    expect(user).toMatchObject({ sub: 'f0e1d2c3', data: { name: 'Sami User' } })
    expect(user.logoutUrl).toMatch(/^\/bff\/logout\?sid=/)
    const { grant } = await readSessionGrant(broker, b)
    expect(me.seen.at(-1)).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(wire.problems).toEqual([])
  })

  it('when the SPA calls an API, then the upstream gets Bearer and the SAMI access token', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    expect((await xhr(b, broker, '/api/devices/7')).status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.accessToken).toMatch(/^sami-at-/)
    expect(upstream.requests.at(-1)).toMatchObject({ url: '/echo/devices/7' })
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(wire.problems).toEqual([])
  })

  it('when the access token is about to expire, then the next call refreshes it with Basic auth and the new token goes upstream', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    expect((await xhr(b, broker, '/api/devices/1')).status).toBe(200)
    const first = upstream.requests.at(-1)!.headers.authorization
    const { grant: before } = await readSessionGrant(broker, b)
    clock.advance((ACCESS_TTL / 2) * 1000 + 300)
    expect((await xhr(b, broker, '/api/devices/1')).status).toBe(200)
    const second = upstream.requests.at(-1)!.headers.authorization
    expect(second).toMatch(/^Bearer sami-at-/)
    expect(second).not.toBe(first)
    const refresh = tokenRequests().at(-1)!
    expect(refresh.headers.authorization).toBe('Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW')
    expect(Object.fromEntries(new URLSearchParams(refresh.body))).toEqual({
      grant_type: 'refresh_token', refresh_token: before!.tokens.refreshToken,
    })
    expect(wire.problems).toEqual([])
  })

  it('when an app route is called, then the broker gets a client-credentials token with scope=read,write and sends it upstream', async () => {
    const res = await xhr(createBrowser(), broker, '/api/app/stats')
    expect(res.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers.authorization).toMatch(/^Bearer sami-cc-/)
    const cc = tokenRequests().at(-1)!
    expect(cc.headers.authorization).toBe('Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW')
    // form-decoded, as the server reads it: the documented `scope=read,write` (the comma may be sent as %2C)
    expect(Object.fromEntries(new URLSearchParams(cc.body))).toEqual({ grant_type: 'client_credentials', scope: 'read,write' })
    expect(wire.problems).toEqual([])
  })

  itRefusesMalformedCallbacks('sami', () => ({ broker, wire, clientSecret: creds.clientSecret }), { namesUserOutsideTokenResponse: true })
})
