import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogout, type Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { keysWithPrefix } from '../../support/redis.js'

let broker: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, idp, stop } = await startBrokerWithProvider({ name: 'logout' }))
})
afterAll(() => stop())

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
const logoutUrl = async (b: Browser) => JSON.parse((await user(b)).body).logoutUrl as string
const sessionKeys = async () =>
  (await keysWithPrefix(broker.redisUrl, broker.prefix)).filter((k) => /:(sess|grant):/.test(k.key)).map((k) => k.key)

describe('logout (invariant 7)', () => {
  it('when the user logs out, then the session and grant leave Redis, the refresh token is revoked, the cookie is cleared and the browser goes to end-session', async () => {
    const b = createBrowser()
    await login(b, broker)
    const before = await sessionKeys()
    const revocationsBefore = idp.counts.revocations
    const res = await b.get(`${broker.origin}${await logoutUrl(b)}`, { site: 'same-origin' })
    expect(res.status).toBe(302)
    const endSession = new URL(res.location!)
    expect(endSession.origin).toBe(new URL(idp.issuer).origin)
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/)
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${broker.origin}/`)
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
    expect(setCookie.some((c) => /^bff-session=;/.test(c) && /Expires=Thu, 01 Jan 1970/.test(c))).toBe(true)
    expect(b.cookie(broker.origin, 'bff-session')).toBeUndefined()
    // RFC 7009: the refresh token and the access token
    expect(idp.counts.revocations).toBe(revocationsBefore + 2)
    expect(idp.counts.revocationHints.slice(-2).sort()).toEqual(['access_token', 'refresh_token'])
    const after = await sessionKeys()
    expect(after.length).toBe(before.length - 2)
    expect((await user(b)).status).toBe(401)
    // the provider's own logout page then sends the browser back to the app
    expect(await completeProviderLogout(b, endSession)).toBe(`${broker.origin}/`)
  })

  it('when the sid does not match the session, then 400 and the session lives on', async () => {
    const b = createBrowser()
    await login(b, broker)
    const res = await b.get(`${broker.origin}/bff/logout?sid=not-the-sid`, { site: 'same-origin' })
    expect(res.status).toBe(400)
    expect((await user(b)).status).toBe(200)
    const noSid = await b.get(`${broker.origin}/bff/logout`, { site: 'same-origin' })
    expect(noSid.status).toBe(400)
    expect((await user(b)).status).toBe(200)
  })

  it("when another session's sid is used, then 400: a sid is bound to its own session", async () => {
    const a = createBrowser()
    const c = createBrowser()
    await login(a, broker)
    await login(c, broker)
    const res = await c.get(`${broker.origin}${await logoutUrl(a)}`, { site: 'same-origin' })
    expect(res.status).toBe(400)
    expect((await user(a)).status).toBe(200)
    expect((await user(c)).status).toBe(200)
  })

  it('when there is no session at all, then 302 to /', async () => {
    const res = await createBrowser().get(`${broker.origin}/bff/logout?sid=whatever`)
    expect(res.status).toBe(302)
    expect(res.location).toBe(`${broker.origin}/`)
  })

  it('when returnTo is given, then it becomes the post_logout_redirect_uri; a foreign one is refused', async () => {
    const b = createBrowser()
    await login(b, broker)
    const url = await logoutUrl(b)
    expect((await b.get(`${broker.origin}${url}&returnTo=https://evil.example/`, { site: 'same-origin' })).status).toBe(400)
    const res = await b.get(`${broker.origin}${url}&returnTo=/goodbye`, { site: 'same-origin' })
    expect(new URL(res.location!).searchParams.get('post_logout_redirect_uri')).toBe(`${broker.origin}/goodbye`)
  })

  it('when the logout URL is read, then its sid is not the session cookie value', async () => {
    const b = createBrowser()
    await login(b, broker)
    const sid = new URL(await logoutUrl(b), broker.origin).searchParams.get('sid')!
    const cookie = decodeURIComponent(b.cookie(broker.origin, 'bff-session')!)
    expect(cookie).not.toContain(sid)
  })
})

describe('back-channel logout', () => {
  it('when the provider ends its session, then its back-channel logout token ends the broker session', async () => {
    const b = createBrowser()
    await login(b, broker)
    const other = createBrowser()
    await login(other, broker, { user: 'bob' })
    const backchannelBefore = idp.counts.backchannelLogouts
    // logging out at the provider directly (not through the broker) triggers the back-channel call
    const endSession = new URL('/session/end', idp.issuer)
    await completeProviderLogout(b, endSession)
    await expect.poll(() => idp.counts.backchannelLogouts, { timeout: 5000 }).toBe(backchannelBefore + 1)
    await expect.poll(async () => (await user(b)).status, { timeout: 5000 }).toBe(401)
    expect((await user(other)).status).toBe(200)
  })

  it('when a forged logout token is posted, then 400 and no session ends', async () => {
    const b = createBrowser()
    await login(b, broker)
    const forged = ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.', 'not-a-jwt', '']
    for (const token of forged) {
      const res = await createBrowser().postForm(`${broker.origin}/bff/backchannel-logout`, { logout_token: token }, { xhr: true })
      expect(res.status).toBe(400)
      expect(JSON.parse(res.body).error).toBe('invalid_request')
    }
    expect((await user(b)).status).toBe(200)
  })
})
