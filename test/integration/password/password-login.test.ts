import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createBrowser, startTestBroker, type TestBroker } from '../../support/start-app.js'
import type { Browser, BrowserResponse } from '../../support/browser.js'
import { awayFromWindowEdge, keysWithPrefix } from '../../support/redis.js'
import { startWireServer, type WireServer } from '../../support/wire/index.js'

// oidc-provider 9 has no password grant, so the Breakout wire server stands in for the provider
const PASSWORD = 'Pw-7f3c1e9a-never-in-logs'
const users = Object.fromEntries(['json', 'form', 'csrf', 'wrong', 'rotate', 'secret', 'limited', 'body'].map((u) => [`${u}@break-out.org`, PASSWORD]))

let wire: WireServer
let broker: TestBroker
/** a second instance on the same Redis and key prefix */
let second: TestBroker
let off: TestBroker

const provider = () => ({ dialect: 'breakout', baseUrl: wire.url.href, clientId: 'breakout_app', clientSecret: '123456789', scopes: ['read', 'write'], authorizationParams: {} })

beforeAll(async () => {
  wire = await startWireServer('breakout', { clientId: 'breakout_app', clientSecret: '123456789', users })
  // trustProxy: each test logs in from its own client IP (X-Forwarded-For), so the per-IP limit is per test
  broker = await startTestBroker({ name: 'password', config: { trustProxy: true, provider: { ...provider(), passwordGrant: true } } })
  second = await startTestBroker({
    name: 'password-second',
    config: { trustProxy: true, provider: { ...provider(), passwordGrant: true }, redis: { url: broker.redisUrl, keyPrefix: broker.prefix } },
  })
  off = await startTestBroker({
    name: 'password-off',
    config: { provider: { ...provider(), authorizationEndpoint: new URL('/oauth/authorize', wire.url).href } },
  })
})
afterAll(async () => {
  await Promise.all([broker.stop(), second.stop(), off.stop()])
  await wire.stop()
})

let ipCounter = 0
const newIp = () => `198.51.100.${++ipCounter}`

interface PostOptions { form?: boolean; csrf?: boolean; ip?: string; contentType?: string; target?: TestBroker }
function post(b: Browser, body: Record<string, unknown> | string, opts: PostOptions = {}): Promise<BrowserResponse> {
  const target = opts.target ?? broker
  const contentType = opts.contentType ?? (opts.form ? 'application/x-www-form-urlencoded' : 'application/json')
  const encoded = typeof body === 'string' ? body : opts.form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body)
  return b.request(`${target.origin}/bff/login/password`, {
    method: 'POST',
    xhr: true,
    headers: { 'content-type': contentType, 'x-forwarded-for': opts.ip ?? newIp(), ...(opts.csrf === false ? {} : { 'x-csrf': '1' }) },
    body: encoded,
  })
}
const user = (b: Browser, target = broker) => b.get(`${target.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
const body = (res: BrowserResponse) => JSON.parse(res.body) as Record<string, unknown>
const tokenCalls = () => wire.requests.filter((r) => r.path === '/oauth/token').length


describe('POST /bff/login/password', () => {
  it('when provider.passwordGrant is off, then the route does not exist (404 JSON) and the provider is not called', async () => {
    const before = tokenCalls()
    const res = await post(createBrowser(), { username: 'json@break-out.org', password: PASSWORD }, { target: off })
    expect(res.status).toBe(404)
    expect(body(res).error).toBe('not_found')
    expect(tokenCalls()).toBe(before)
  })

  it('when JSON credentials are right, then 200 with the /bff/user shape and a session', async () => {
    const b = createBrowser()
    const res = await post(b, { username: 'json@break-out.org', password: PASSWORD })
    expect(res.status, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const answer = body(res)
    expect(answer).toMatchObject({ sub: '42', logoutUrl: expect.stringMatching(/^\/bff\/logout\?sid=/), sessionExpiresAt: expect.any(Number) })
    expect(body(await user(b))).toEqual(answer)
  })

  it('when form credentials are right, then 200 and a session', async () => {
    const b = createBrowser()
    const res = await post(b, { username: 'form@break-out.org', password: PASSWORD }, { form: true })
    expect(res.status, res.body).toBe(200)
    expect(body(await user(b)).sub).toBe('42')
  })

  it('when the X-CSRF header is missing, then 403 csrf_failed and the provider is not called', async () => {
    const before = tokenCalls()
    for (const form of [false, true]) {
      const res = await post(createBrowser(), { username: 'csrf@break-out.org', password: PASSWORD }, { form, csrf: false })
      expect(res.status).toBe(403)
      expect(body(res).error).toBe('csrf_failed')
    }
    expect(tokenCalls()).toBe(before)
  })

  it('when the password is wrong or the user unknown, then the same 401 login_failed and no session', async () => {
    const b = createBrowser()
    const wrong = await post(b, { username: 'wrong@break-out.org', password: 'not-it' })
    const unknown = await post(b, { username: 'nobody@break-out.org', password: 'not-it' })
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401)
      expect(body(res)).toEqual({ error: 'login_failed', message: 'Wrong username or password.' })
    }
    expect(b.cookie(broker.origin, broker.config.session.cookieName)).toBeUndefined()
    expect((await user(b)).status).toBe(401)
  })

  it.each([
    ['no password', { username: 'body@break-out.org' }],
    ['a numeric username', { username: 7, password: PASSWORD }],
    ['an empty username', { username: '  ', password: PASSWORD }],
    ['a username of 257 characters', { username: 'u'.repeat(257), password: PASSWORD }],
    ['a password of 1025 characters', { username: 'body@break-out.org', password: 'p'.repeat(1025) }],
  ])('when the body has %s, then 400 invalid_request without calling the provider', async (_what, fields) => {
    const before = tokenCalls()
    const res = await post(createBrowser(), fields)
    expect(res.status).toBe(400)
    expect(body(res).error).toBe('invalid_request')
    expect(tokenCalls()).toBe(before)
  })

  it('when the body is malformed JSON, plain text or too large, then 4xx invalid_request and the password is not logged', async () => {
    const from = broker.logs.length
    // V8 quotes ~10 characters around an unexpected token in its JSON.parse message: a short password whole
    const malformed = await post(createBrowser(), '{"username":"body@break-out.org","password":hunter2}')
    expect(malformed.status).toBe(400)
    const text = await post(createBrowser(), `password=${PASSWORD}`, { contentType: 'text/plain' })
    expect(text.status).toBe(400)
    const large = await post(createBrowser(), { username: 'body@break-out.org', password: PASSWORD, pad: 'x'.repeat(5000) })
    expect(large.status).toBe(413)
    for (const res of [malformed, text, large]) expect(body(res).error).toBe('invalid_request')
    const logged = broker.logs.slice(from).join('\n')
    expect(logged).not.toContain('hunter2')
    expect(logged).not.toContain(PASSWORD)
  })

  it('when a session already exists, then a password login replaces its id and the old cookie is dead (invariant 3)', async () => {
    const b = createBrowser()
    const name = broker.config.session.cookieName
    expect((await post(b, { username: 'rotate@break-out.org', password: PASSWORD })).status).toBe(200)
    const first = b.cookie(broker.origin, name) as string
    expect((await post(b, { username: 'rotate@break-out.org', password: PASSWORD })).status).toBe(200)
    const second = b.cookie(broker.origin, name)
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
    expect((await user(b)).status).toBe(200)
    const stale = createBrowser()
    stale.setCookie(broker.origin, `${name}=${first}; Path=/`)
    expect((await user(stale)).status).toBe(401)
  })

  it('when one username fails 5 times within a minute across two instances, then the 6th attempt gets 429 with Retry-After', async () => {
    await awayFromWindowEdge()
    const from = [broker.logs.length, second.logs.length] as const
    for (let i = 0; i < 5; i++) {
      const res = await post(createBrowser(), { username: 'limited@break-out.org', password: 'guess' }, { target: i % 2 ? second : broker })
      expect(res.status).toBe(401)
    }
    const before = tokenCalls()
    // the right password from a fresh IP does not help: the username's window is spent
    const res = await post(createBrowser(), { username: 'Limited@break-out.org', password: PASSWORD }, { target: second })
    expect(res.status).toBe(429)
    expect(body(res).error).toBe('too_many_requests')
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(tokenCalls()).toBe(before)
    const lines = [...broker.logs.slice(from[0]), ...second.logs.slice(from[1])]
    const limited = lines.filter((l) => l.includes('"event":"login.password_rate_limited"'))
    expect(limited).toHaveLength(1)
    expect(limited[0]).toContain('"limit":"pw-user"')
    expect(limited[0]).not.toMatch(/limited@break-out\.org/i)
  })

  it('when one client IP tries 10 usernames within a minute across two instances, then the 11th attempt gets 429', async () => {
    await awayFromWindowEdge()
    const ip = newIp()
    for (let i = 0; i < 10; i++) {
      const res = await post(createBrowser(), { username: `spray-${i}@break-out.org`, password: 'guess' }, { ip, target: i % 2 ? second : broker })
      expect(res.status).toBe(401)
    }
    const res = await post(createBrowser(), { username: 'spray-10@break-out.org', password: 'guess' }, { ip })
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toMatch(/^\d+$/)
    expect(broker.logs.some((l) => l.includes('"event":"login.password_rate_limited"') && l.includes('"limit":"pw-ip"'))).toBe(true)
    // another IP is not affected
    expect((await post(createBrowser(), { username: 'spray-11@break-out.org', password: 'guess' })).status).toBe(401)
  })

  it('when one client rotates its address inside one IPv6 /64, then the per-address limit counts one client and the 11th attempt gets 429', async () => {
    await awayFromWindowEdge()
    for (let i = 0; i < 10; i++) {
      const ip = `2001:db8:5:1:${(i + 1).toString(16)}::${i + 1}` // a new interface id each time
      const res = await post(createBrowser(), { username: `v6-${i}@break-out.org`, password: 'guess' }, { ip, target: i % 2 ? second : broker })
      expect(res.status).toBe(401)
    }
    const res = await post(createBrowser(), { username: 'v6-10@break-out.org', password: 'guess' }, { ip: '2001:db8:5:1:ffff:ffff:ffff:fffe' })
    expect(res.status).toBe(429)
    // the neighbouring /64 is another client
    const neighbour = await post(createBrowser(), { username: 'v6-11@break-out.org', password: 'guess' }, { ip: '2001:db8:5:2::1' })
    expect(neighbour.status).toBe(401)
  })

  it('when a client alternates an IPv4 address and its IPv4-mapped IPv6 form, then both count as one address', async () => {
    await awayFromWindowEdge()
    const ip = newIp()
    for (let i = 0; i < 10; i++) {
      const res = await post(createBrowser(), { username: `mapped-${i}@break-out.org`, password: 'guess' }, { ip: i % 2 ? `::ffff:${ip}` : ip })
      expect(res.status).toBe(401)
    }
    expect((await post(createBrowser(), { username: 'mapped-10@break-out.org', password: 'guess' }, { ip: `::ffff:${ip}` })).status).toBe(429)
  })

  it('when users have logged in and failed, then the password is in no log line and in no Redis key or value', async () => {
    const b = createBrowser()
    expect((await post(b, { username: 'secret@break-out.org', password: PASSWORD })).status).toBe(200)
    expect((await post(createBrowser(), { username: 'secret@break-out.org', password: `${PASSWORD}-typo` })).status).toBe(401)
    expect([...broker.logs, ...second.logs].join('\n')).not.toContain(PASSWORD)
    const keys = await keysWithPrefix(broker.redisUrl, broker.prefix)
    expect(keys.length).toBeGreaterThan(0)
    const redis = new Redis(broker.redisUrl)
    try {
      for (const { key, ttlMs } of keys) {
        expect(key).not.toContain(PASSWORD)
        expect(key).not.toContain('secret@break-out.org')
        expect(ttlMs, key).toBeGreaterThan(0)
        const type = await redis.type(key)
        const values = type === 'set' ? await redis.smembers(key) : type === 'string' ? [await redis.get(key)] : []
        for (const value of values) expect(value ?? '').not.toContain(PASSWORD)
      }
    } finally {
      redis.disconnect()
    }
  })
})
