import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { startWireServer, type WireServer } from '../../support/wire/index.js'
import { codeFlowLogin, itRefusesMalformedCallbacks, json, startIdentityApi, xhr, type IdentityApi } from './support.js'

// the documented client; the docs show the raw id:secret inside Basic
const creds = { clientId: '6e9d1db3-2feb-4c1f-a5ad-9e93ae8ca59d', clientSecret: 'sQesTWAnTwaw-Nn0oK35GA' }
const basic = `Basic ${Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64')}`

let wire: WireServer
let upstream: Upstream
let me: IdentityApi
let broker: TestBroker

beforeAll(async () => {
  wire = await startWireServer('light-oauth2', creds)
  upstream = await startUpstream()
  // no ID token and no user field in the token answer: the user comes from the API (the documented JWT's user_id)
  me = await startIdentityApi('/v1/user', 'eyJ', { user_id: 'stevehu', user_type: 'EMPLOYEE' })
  broker = await startTestBroker({
    name: 'dialect-light-oauth2',
    config: {
      provider: {
        dialect: 'light-oauth2', baseUrl: wire.url.href, ...creds, scopes: [], authorizationParams: {},
        userinfoEndpoint: me.url.href, subjectClaim: 'user_id',
      },
      apis: [
        { path: '/api/customer', target: `${upstream.url}/echo/customer`, token: 'user' },
        { path: '/api/app', target: `${upstream.url}/echo/app`, token: 'client', anonymous: true },
      ],
    },
  })
})
afterAll(async () => {
  await broker.stop()
  await Promise.all([wire.stop(), upstream.stop(), me.stop()])
})

const tokenRequests = () => wire.requests.filter((r) => r.path === '/oauth2/token')

describe('light-oauth2 dialect through the broker', () => {
  it('when a user logs in, then /oauth2/code and /oauth2/token are used with the raw id:secret in Basic, and /bff/user names the user', async () => {
    const b = createBrowser()
    const { authorizationUrl, callback } = await codeFlowLogin(b, broker, wire)
    expect(callback.status).toBe(302)
    expect(authorizationUrl.pathname).toBe('/oauth2/code')
    expect(authorizationUrl.searchParams.get('response_type')).toBe('code')
    expect(authorizationUrl.searchParams.has('scope')).toBe(false)
    const token = tokenRequests().at(-1)!
    expect(token.headers.authorization).toBe(basic)
    expect(token.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    expect(new URLSearchParams(token.body).get('grant_type')).toBe('authorization_code')
    expect(json(await xhr(b, broker, '/bff/user'))).toMatchObject({ sub: 'stevehu', user_type: 'EMPLOYEE' })
    expect(wire.problems).toEqual([])
  })

  it('when the SPA calls an API, then the upstream gets Bearer and the JWT access token', async () => {
    const b = createBrowser()
    await codeFlowLogin(b, broker, wire)
    expect((await xhr(b, broker, '/api/customer/111')).status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.accessToken.split('.')).toHaveLength(3)
    expect(grant!.tokens.refreshToken).toBeUndefined()
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(me.seen.at(-1)).toBe(`Bearer ${grant!.tokens.accessToken}`)
  })

  it('when an app route is called, then a client-credentials token is fetched with Basic auth and sent upstream', async () => {
    const res = await xhr(createBrowser(), broker, '/api/app/report')
    expect(res.status).toBe(200)
    const cc = tokenRequests().at(-1)!
    expect(cc.headers.authorization).toBe(basic)
    expect(Object.fromEntries(new URLSearchParams(cc.body))).toEqual({ grant_type: 'client_credentials' })
    const sent = upstream.requests.at(-1)!.headers.authorization as string
    const payload = JSON.parse(Buffer.from(sent.split('.')[1] as string, 'base64url').toString()) as { sub: string }
    expect(payload.sub).toBe(creds.clientId)
    expect(wire.problems).toEqual([])
  })

  itRefusesMalformedCallbacks('light-oauth2', () => ({ broker, wire, clientSecret: creds.clientSecret }), { namesUserOutsideTokenResponse: true })
})
