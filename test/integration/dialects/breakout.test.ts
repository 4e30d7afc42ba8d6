import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { createOffsetClock } from '../../support/clock.js'
import type { Browser } from '../../support/browser.js'
import { startUpstream, type Upstream } from '../../support/upstream.js'
import { readSessionGrant } from '../../support/grants.js'
import { startWireServer, type WireServer } from '../../support/wire/index.js'
import { json, xhr } from './support.js'

// the documented client (breakout_app / 123456789) and user
const creds = { clientId: 'breakout_app', clientSecret: '123456789' }
const admin = { username: 'admin@break-out.org', password: 'password' }
const basic = `Basic ${Buffer.from('breakout_app:123456789').toString('base64')}`
// access tokens live 4 s: the refresh skew is capped at half the lifetime, so a token is refreshed after 2 s
const ACCESS_TTL = 4
// the broker's clock: the tests move it past the refresh point instead of waiting
const clock = createOffsetClock()

let wire: WireServer
let upstream: Upstream
let broker: TestBroker

beforeAll(async () => {
  wire = await startWireServer('breakout', { ...creds, tokenAnswer: (answer) => ({ ...answer, expires_in: ACCESS_TTL }) })
  upstream = await startUpstream()
  broker = await startTestBroker({
    clock,
    name: 'dialect-breakout',
    config: {
      // Breakout documents only the password grant: no authorization endpoint, so password logins only
      provider: { dialect: 'breakout', baseUrl: wire.url.href, ...creds, scopes: ['read', 'write'], authorizationParams: {}, passwordGrant: true },
      apis: [{ path: '/api/events', target: `${upstream.url}/echo/event`, token: 'user' }],
    },
  })
})
afterAll(async () => {
  await broker.stop()
  await Promise.all([wire.stop(), upstream.stop()])
})

const passwordLogin = (b: Browser) =>
  b.request(`${broker.origin}/bff/login/password`, {
    method: 'POST', xhr: true, headers: { 'content-type': 'application/json', 'x-csrf': '1' }, body: JSON.stringify(admin),
  })
const tokenRequests = () => wire.requests.filter((r) => r.path === '/oauth/token')

describe('breakout dialect through the broker', () => {
  it('when a user logs in with a password, then the documented token request goes out and GET /me/ names the user', async () => {
    const b = createBrowser()
    const res = await passwordLogin(b)
    expect(res.status, res.body).toBe(200)
    expect(json(res)).toMatchObject({ sub: '42', logoutUrl: expect.stringMatching(/^\/bff\/logout\?sid=/), sessionExpiresAt: expect.any(Number) })
    const token = tokenRequests().at(-1)!
    expect(token.headers.authorization).toBe(basic)
    expect(token.headers.accept).toMatch(/application\/json/)
    expect(token.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    expect(token.body).toContain('scope=read+write')
    expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({ ...admin, grant_type: 'password', scope: 'read write' })
    const { grant } = await readSessionGrant(broker, b)
    expect(wire.requests.at(-1)).toMatchObject({ method: 'GET', path: '/me/' })
    expect(wire.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
    expect(json(await xhr(b, broker, '/bff/user'))).toMatchObject({ sub: '42', email: admin.username })
    expect(wire.problems).toEqual([])
  })

  it('when the SPA calls an API after a password login, then the upstream gets Bearer and the Breakout access token', async () => {
    const b = createBrowser()
    expect((await passwordLogin(b)).status).toBe(200)
    expect((await xhr(b, broker, '/api/events/3')).status).toBe(200)
    const { grant } = await readSessionGrant(broker, b)
    expect(grant!.tokens.accessToken).toMatch(/^bo-at-/)
    expect(upstream.requests.at(-1)).toMatchObject({ url: '/echo/event/3' })
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${grant!.tokens.accessToken}`)
  })

  it('when the access token is about to expire, then it is refreshed with Basic auth and refresh_token&grant_type=refresh_token', async () => {
    const b = createBrowser()
    expect((await passwordLogin(b)).status).toBe(200)
    const { grant: before } = await readSessionGrant(broker, b)
    clock.advance((ACCESS_TTL / 2) * 1000 + 300)
    expect((await xhr(b, broker, '/api/events/4')).status).toBe(200)
    const refresh = tokenRequests().at(-1)!
    expect(refresh.headers.authorization).toBe(basic)
    expect(Object.fromEntries(new URLSearchParams(refresh.body))).toEqual({ grant_type: 'refresh_token', refresh_token: before!.tokens.refreshToken })
    const { grant: after } = await readSessionGrant(broker, b)
    expect(after!.tokens.accessToken).not.toBe(before!.tokens.accessToken)
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${after!.tokens.accessToken}`)
    expect(wire.problems).toEqual([])
  })

  it('when the password is wrong, then 401 login_failed, a log line naming the provider, and no session', async () => {
    const b = createBrowser()
    const from = broker.logs.length
    const res = await b.request(`${broker.origin}/bff/login/password`, {
      method: 'POST', xhr: true, headers: { 'content-type': 'application/json', 'x-csrf': '1' },
      body: JSON.stringify({ username: admin.username, password: 'not-the-password' }),
    })
    expect(res.status).toBe(401)
    expect(json(res)).toEqual({ error: 'login_failed', message: 'Wrong username or password.' })
    const lines = broker.logs.slice(from)
    expect(lines.some((l) => l.includes('"event":"provider.response_invalid"') && l.includes('"provider":"breakout"'))).toBe(true)
    expect(lines.join('\n')).not.toContain('not-the-password')
    expect((await xhr(b, broker, '/bff/user')).status).toBe(401)
  })
})
