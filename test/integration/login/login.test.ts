import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { keysWithPrefix } from '../../support/redis.js'

let broker: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, idp, stop } = await startBrokerWithProvider({ name: 'login' }))
})
afterAll(() => stop())

const loginCookies = (b: ReturnType<typeof createBrowser>) =>
  b.cookies(broker.origin).filter((c) => c.name === 'bff-login' || c.name.startsWith('bff-login.'))
const user = (b: ReturnType<typeof createBrowser>) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

describe('login through the broker', () => {
  it('when a browser logs in, then /bff/user returns its claims, sessionExpiresAt and a logoutUrl', async () => {
    const b = createBrowser()
    const { start, res } = await login(b, broker, { returnTo: '/orders?page=2#top' })
    const authorize = new URL(start.location!)
    expect(authorize.origin).toBe(new URL(idp.issuer).origin)
    expect(authorize.searchParams.get('response_type')).toBe('code')
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{43}$/)
    expect(authorize.searchParams.get('nonce')).toMatch(/^[\w-]{43}$/)
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${broker.origin}/bff/callback`)
    expect(authorize.searchParams.get('prompt')).toBe('consent')
    expect(res.status).toBe(302)
    expect(res.location).toBe(`${broker.origin}/orders?page=2#top`)
    const me = await user(b)
    expect(me.status).toBe(200)
    const body = JSON.parse(me.body) as Record<string, unknown>
    expect(body.sub).toBe('alice')
    expect(body.email).toBe('alice@example.test')
    expect(body.nonce).toBeUndefined()
    expect(typeof body.sessionExpiresAt).toBe('number')
    expect(body.sessionExpiresAt as number).toBeGreaterThan(Date.now() / 1000)
    expect(body.logoutUrl).toMatch(/^\/bff\/logout\?sid=[\w-]{43}$/)
    expect(me.headers['cache-control']).toBe('no-store')
  })

  it('when /bff/user is called without X-CSRF, then it answers 403 csrf_failed', async () => {
    const b = createBrowser()
    await login(b, broker)
    const res = await b.get(`${broker.origin}/bff/user`, { xhr: true })
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toMatchObject({ error: 'csrf_failed' })
  })

  it('when there is no session, then /bff/user answers 401 JSON and never a redirect', async () => {
    const res = await user(createBrowser())
    expect(res.status).toBe(401)
    expect(res.location).toBeUndefined()
    expect(res.headers['content-type']).toMatch(/application\/json/)
    expect(JSON.parse(res.body)).toEqual({ error: 'unauthorized', message: expect.any(String) })
  })

  it('when two tabs of one browser log in at once, then both logins complete', async () => {
    const b = createBrowser()
    const first = await b.get(`${broker.origin}/bff/login?returnTo=/a`)
    const second = await b.get(`${broker.origin}/bff/login?returnTo=/b`)
    const cb1 = await completeProviderLogin(b, first.location!)
    const cb2 = await completeProviderLogin(b, second.location!)
    const r2 = await b.get(cb2, { site: 'cross-site' })
    const r1 = await b.get(cb1, { site: 'cross-site' })
    expect([r1.status, r1.location]).toEqual([302, `${broker.origin}/a`])
    expect([r2.status, r2.location]).toEqual([302, `${broker.origin}/b`])
    expect((await user(b)).status).toBe(200)
  })

  it('when the callback consumes a login, then its login cookie is cleared and another tab\'s pending login keeps its own', async () => {
    const b = createBrowser()
    const first = await b.get(`${broker.origin}/bff/login?returnTo=/a`)
    const second = await b.get(`${broker.origin}/bff/login?returnTo=/b`)
    expect(loginCookies(b)).toHaveLength(2)
    const r1 = await b.get(await completeProviderLogin(b, first.location!), { site: 'cross-site' })
    expect(r1.status).toBe(302)
    const setCookie = ([] as string[]).concat(r1.headers['set-cookie'] ?? [])
    expect(setCookie.some((c) => c.startsWith('bff-login.') && /Expires=Thu, 01 Jan 1970/.test(c))).toBe(true)
    expect(loginCookies(b)).toHaveLength(1)
    const r2 = await b.get(await completeProviderLogin(b, second.location!), { site: 'cross-site' })
    expect([r2.status, r2.location]).toEqual([302, `${broker.origin}/b`])
    expect(loginCookies(b)).toEqual([])
  })

  it('when a browser logs out with a login still pending, then the logout clears its login cookies too', async () => {
    const b = createBrowser()
    await login(b, broker)
    await b.get(`${broker.origin}/bff/login?returnTo=/later`)
    // a browser upgraded from the per-browser binding cookie of earlier versions
    b.setCookie(broker.origin, 'bff-login=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; Path=/')
    expect(loginCookies(b).length).toBe(2)
    const logoutUrl = JSON.parse((await user(b)).body).logoutUrl as string
    expect((await b.get(`${broker.origin}${logoutUrl}`, { site: 'same-origin' })).status).toBe(302)
    expect(loginCookies(b)).toEqual([])
    expect(b.cookie(broker.origin, 'bff-session')).toBeUndefined()
  })

  it('when the provider is Bob, then the session is Bob (subjects are not mixed up)', async () => {
    const b = createBrowser()
    await login(b, broker, { user: 'bob' })
    expect(JSON.parse((await user(b)).body).sub).toBe('bob')
  })
})

describe('the session id changes at login (invariant 3)', () => {
  it('when a logged-in browser logs in again, then it gets a new session id and the old one is dead', async () => {
    const b = createBrowser()
    await login(b, broker)
    const first = b.cookie(broker.origin, 'bff-session')!
    await login(b, broker)
    const second = b.cookie(broker.origin, 'bff-session')!
    expect(second).toBeTruthy()
    expect(second).not.toBe(first)
    const old = createBrowser()
    old.setCookie(broker.origin, `bff-session=${first}; Path=/`)
    expect((await user(old)).status).toBe(401)
    expect((await user(b)).status).toBe(200)
  })

  it('when an attacker plants a session cookie before the login, then the login does not adopt it', async () => {
    const victim = createBrowser()
    const attacker = createBrowser()
    await login(attacker, broker, { user: 'bob' })
    const planted = attacker.cookie(broker.origin, 'bff-session')!
    victim.setCookie(broker.origin, `bff-session=${planted}; Path=/`)
    await login(victim, broker)
    expect(victim.cookie(broker.origin, 'bff-session')).not.toBe(planted)
    expect(JSON.parse((await user(victim)).body).sub).toBe('alice')
    // the planted id was the attacker's session and was ended by the victim's login: it gives nobody access
    expect((await user(attacker)).status).toBe(401)
  })
})

describe('every Redis key has a TTL, forged ids create nothing (invariant 14)', () => {
  it('when logins, logouts and API calls happened, then every key the broker wrote expires', async () => {
    const b = createBrowser()
    await login(b, broker)
    await b.get(`${broker.origin}/bff/login?returnTo=/unfinished`)
    const keys = await keysWithPrefix(broker.redisUrl, broker.prefix)
    expect(keys.length).toBeGreaterThan(3)
    for (const k of keys) expect({ key: k.key, expires: k.ttlMs > 0 }).toEqual({ key: k.key, expires: true })
    // an unfinished login lives in its browser's cookie only; a finished one leaves a consumed-state marker that
    // expires with the transaction it guards (ten minutes, plus a minute of clock slack between instances)
    expect(keys.filter((k) => k.key.startsWith(`${broker.prefix}login:`))).toEqual([])
    const used = keys.filter((k) => k.key.startsWith(`${broker.prefix}login-used:`))
    expect(used.length).toBeGreaterThan(0)
    for (const k of used) expect(k.ttlMs).toBeLessThanOrEqual(660_000)
  })

  it('when requests carry forged or random session ids, then nothing is created in Redis', async () => {
    const before = (await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key)
    const forged = ['s%3Aabc.def', 'random-value', 's%3A' + 'x'.repeat(43) + '.AAAA', '']
    for (const value of forged) {
      const b = createBrowser()
      b.setCookie(broker.origin, `bff-session=${value}; Path=/`)
      expect((await user(b)).status).toBe(401)
      await b.get(`${broker.origin}/bff/logout?sid=x`)
    }
    const after = (await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key)
    expect(after.filter((k) => !before.includes(k))).toEqual([])
  })
})
