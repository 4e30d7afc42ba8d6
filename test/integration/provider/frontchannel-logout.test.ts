import { randomUUID } from 'node:crypto'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser } from '../../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../../support/oidc-provider.js'
import { bffUser, loginWithSid, signingKey, startOidcWireServer, type OidcWireServer } from '../../support/wire/oidc.js'

// OpenID Connect Front-Channel Logout 1.0: the provider's logout page frames /bff/frontchannel-logout?iss&sid. The
// wire issuer puts the `sid` in the ID token (oidc-provider 9 no longer implements front-channel logout).
let idp: OidcWireServer
let broker: TestBroker

beforeAll(async () => {
  idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
  broker = await startTestBroker({ name: 'frontchannel-logout', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
})
afterAll(async () => {
  await broker.stop()
  await idp.stop()
})

const user = (b: Browser) => bffUser(broker.origin, b)
/** a browser logged in with an ID token that carries `sid` (loginWithSid checks its /bff/user answers 200) */
const loggedIn = (sid: string): Promise<Browser> => loginWithSid(broker.origin, idp, sid)

/** what the provider's iframe sends: a cross-site navigation without the (SameSite=Strict) session cookie */
const framed = (query: Record<string, string>) =>
  request(broker.origin).get('/bff/frontchannel-logout').query(query)
    .set({ accept: 'text/html', 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'cross-site' })

describe('front-channel logout', () => {
  it('when the provider frames the URL with its iss and the sid, then that session ends and the page may be framed by the provider only', async () => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    const other = await loggedIn(randomUUID())
    const res = await framed({ iss: idp.issuer, sid })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['cache-control']).toBe('no-cache, no-store')
    expect(res.headers['x-frame-options']).toBeUndefined()
    const csp = String(res.headers['content-security-policy'])
    expect(csp).toContain(`frame-ancestors ${new URL(idp.issuer).origin}`)
    expect(csp).not.toMatch(/frame-ancestors 'none'/)
    expect(csp).toContain("default-src 'none'")
    expect((await user(b)).status).toBe(401)
    expect((await user(other)).status).toBe(200)
    expect(broker.logs.some((l) => l.includes('"event":"logout.frontchannel"') && l.includes('"sessions":1'))).toBe(true)
  })

  it('when the sid is unknown, then 200 and nothing else happens', async () => {
    const b = await loggedIn(randomUUID())
    const res = await framed({ iss: idp.issuer, sid: 'no-such-sid' })
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-cache, no-store')
    expect((await user(b)).status).toBe(200)
  })

  it.each([
    ['another issuer', (sid: string) => ({ iss: 'https://evil.example', sid })],
    ['no iss (sid alone)', (sid: string) => ({ sid })],
    ['no sid', () => ({ iss: idp.issuer })],
  ])('when the request has %s, then 400, a page that cannot be framed, and the session lives on', async (_, query) => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    const res = await framed(query(sid))
    expect(res.status).toBe(400)
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'")
    expect((await user(b)).status).toBe(200)
  })

  it('when any other broker route answers, then framing is still refused', async () => {
    const res = await request(broker.origin).get('/bff/user').set('x-csrf', '1')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'")
  })
})

describe('front-channel logout without OIDC discovery', () => {
  it('when the provider is configured by endpoints (no issuer), then the route does not exist', async () => {
    const plain = await startTestBroker({
      name: 'frontchannel-none',
      config: { provider: { authorizationEndpoint: `${idp.issuer}/auth`, tokenEndpoint: `${idp.issuer}/token`, scopes: ['openid'] } },
    })
    try {
      expect((await request(plain.origin).get('/bff/frontchannel-logout').query({ iss: idp.issuer, sid: 'x' })).status).toBe(404)
    } finally {
      await plain.stop()
    }
  })
})
