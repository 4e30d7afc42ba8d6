import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, startBrokerWithProvider, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin, type Browser } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { awayFromWindowEdge, keysWithPrefix } from '../../support/redis.js'
import { maxPendingLogins } from '../../../src/http/login-cookies.js'

// Issue 11, item 2: every GET /bff/login used to store a transaction in Redis for ten minutes, unthrottled.
let broker: TestBroker
let idp: RunningOidcProvider
let stop: () => Promise<void>
/** the same provider, a limit of 5 logins a minute per address */
let strict: TestBroker

beforeAll(async () => {
  // trustProxy: each test picks its client address with X-Forwarded-For
  ;({ broker, idp, stop } = await startBrokerWithProvider({ name: 'login-flood', config: { trustProxy: true } }))
  strict = await startTestBroker({
    name: 'login-flood-strict',
    issuer: idp.issuer,
    config: { trustProxy: true, session: { loginRateLimitPerMinute: 5 } },
  })
})
afterAll(async () => {
  await strict.stop()
  await stop()
})

let ipCounter = 0
const newIp = () => `203.0.113.${++ipCounter}`
const startLogin = (b: Browser, target: TestBroker, ip: string, xhr = false) =>
  b.get(`${target.origin}/bff/login`, { xhr, headers: { 'x-forwarded-for': ip } })
const loginCookies = (b: Browser, target: TestBroker) =>
  b.cookies(target.origin).filter((c) => c.name.startsWith(`${target.config.session.loginCookieName}.`))

describe('a flood of logins holds no state on the broker (invariant 14)', () => {
  it('when one client starts 300 logins in a minute without sending cookies back, then all get through (the default limit lets a crowd behind one NAT in) and Redis holds only its rate-limit counter', async () => {
    expect(broker.config.session.loginRateLimitPerMinute).toBe(300)
    await awayFromWindowEdge()
    const before = new Set((await keysWithPrefix(broker.redisUrl, broker.prefix)).map((k) => k.key))
    const b = createBrowser()
    const ip = newIp()
    for (let i = 0; i < 300; i++) {
      b.clearCookies()
      expect((await startLogin(b, broker, ip)).status).toBe(302)
    }
    const added = (await keysWithPrefix(broker.redisUrl, broker.prefix)).filter((k) => !before.has(k.key))
    expect(added.map((k) => k.key.slice(broker.prefix.length).split(':')[0])).toEqual(['rl'])
    expect(added[0]!.ttlMs).toBeLessThanOrEqual(62_000)
  })

  it(`when a browser starts 20 logins and sends its cookies back, then it holds at most ${maxPendingLogins} login cookies and the newest logins complete`, async () => {
    const b = createBrowser()
    const ip = newIp()
    const starts = []
    for (let i = 0; i < 20; i++) {
      starts.push(await startLogin(b, broker, ip))
      expect(loginCookies(b, broker).length).toBeLessThanOrEqual(maxPendingLogins)
    }
    expect(loginCookies(b, broker)).toHaveLength(maxPendingLogins)
    // the newest completes; the oldest was dropped from the browser and fails cleanly
    const newest = await completeProviderLogin(b, starts.at(-1)!.location!)
    expect((await b.get(newest, { site: 'cross-site', headers: { 'x-forwarded-for': ip } })).status).toBe(302)
    const oldest = await completeProviderLogin(b, starts[0]!.location!)
    const failed = await b.get(oldest, { site: 'cross-site', headers: { 'x-forwarded-for': ip } })
    expect(failed.status).toBe(400)
    expect(failed.body).toContain('login_failed')
  })
})

describe('logins are rate-limited per client address (session.loginRateLimitPerMinute)', () => {
  it('when an address exceeds the limit, then a navigation gets a 429 page and a fetch 429 JSON, both with Retry-After, and other addresses go on', async () => {
    await awayFromWindowEdge()
    const from = strict.logs.length
    const b = createBrowser()
    const ip = newIp()
    for (let i = 0; i < 5; i++) expect((await startLogin(b, strict, ip)).status).toBe(302)
    const page = await startLogin(b, strict, ip)
    expect(page.status).toBe(429)
    expect(page.headers['retry-after']).toMatch(/^\d+$/)
    expect(Number(page.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toContain('too_many_requests')
    expect(page.location).toBeUndefined()
    const xhr = await startLogin(b, strict, ip, true)
    expect(xhr.status).toBe(429)
    expect(xhr.headers['retry-after']).toMatch(/^\d+$/)
    expect(JSON.parse(xhr.body)).toEqual({ error: 'too_many_requests', message: expect.stringMatching(/too many logins/i) })
    expect((await startLogin(createBrowser(), strict, newIp())).status).toBe(302)
    // one log line per address and window, not one per refused request
    expect(strict.logs.slice(from).filter((l) => l.includes('"event":"login.rate_limited"'))).toHaveLength(1)
  })

  it('when IPv6 addresses of one /64 start logins, then they share one limit', async () => {
    await awayFromWindowEdge()
    const b = createBrowser()
    for (let i = 1; i <= 5; i++) expect((await startLogin(b, strict, `2001:db8:11:22::${i}`)).status).toBe(302)
    expect((await startLogin(b, strict, '2001:db8:11:22:ffff:1:2:3')).status).toBe(429)
    expect((await startLogin(b, strict, '2001:db8:11:23::1')).status).toBe(302)
  })
})
