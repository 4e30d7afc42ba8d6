import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, startTestBroker, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin, type Browser } from '../../support/browser.js'
import { loginCookieName } from '../../../src/http/login-cookies.js'

let broker: TestBroker
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, stop } = await startBrokerWithProvider({ name: 'callback-errors' }))
})
afterAll(() => stop())

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

/** Starts a login in `b` and returns the provider's redirect back (not yet followed). */
async function pendingCallback(b: Browser): Promise<URL> {
  const start = await b.get(`${broker.origin}/bff/login`)
  return new URL(await completeProviderLogin(b, start.location!))
}

async function expectLoginFailed(b: Browser, url: string | URL) {
  const res = await b.get(url, { site: 'cross-site' })
  expect(res.status).toBe(400)
  expect(res.headers['content-type']).toMatch(/text\/html/)
  expect(res.body).toContain('login_failed')
  expect(res.body).not.toMatch(/at \w+ \(|node_modules|Error:/)
  expect(b.cookie(broker.origin, 'bff-session')).toBeUndefined()
  expect((await user(b)).status).toBe(401)
  return res
}

describe('bad input at the callback: a 4xx and no session left behind', () => {
  it('when state is missing, then login_failed', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    cb.searchParams.delete('state')
    await expectLoginFailed(b, cb)
  })

  it('when state is wrong, then login_failed', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    cb.searchParams.set('state', 'A'.repeat(43))
    await expectLoginFailed(b, cb)
  })

  it('when a used state is replayed, even with a copy of its login cookie, then login_failed and the first session is unaffected', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    const name = loginCookieName('bff-login', cb.searchParams.get('state')!)
    const copy = b.cookie(broker.origin, name)!
    expect((await b.get(cb, { site: 'cross-site' })).status).toBe(302)
    // the callback consumed the login: its cookie is gone from the browser
    expect(b.cookie(broker.origin, name)).toBeUndefined()
    const fresh = createBrowser()
    fresh.setCookie(broker.origin, `${name}=${copy}; Path=/`)
    const res = await expectLoginFailed(fresh, cb)
    expect(res.body).toContain('already used')
    expect((await user(b)).status).toBe(200)
  })

  it('when one callback reaches two instances at once with the same login cookie, then exactly one login completes', async () => {
    // a second instance behind the same publicUrl, sharing Redis and keys (a load balancer in front of both)
    const other = await startTestBroker({
      name: 'callback-errors-other',
      issuer: broker.config.provider.issuer!.href,
      config: { publicUrl: broker.origin, redis: { url: broker.redisUrl, keyPrefix: broker.prefix } },
    })
    try {
      const b = createBrowser()
      const cb = await pendingCallback(b)
      const name = loginCookieName('bff-login', cb.searchParams.get('state')!)
      const twin = createBrowser()
      const onOther = new URL(`${cb.pathname}${cb.search}`, other.url)
      twin.setCookie(other.url, `${name}=${b.cookie(broker.origin, name)}; Path=/`)
      const [here, there] = await Promise.all([b.get(cb, { site: 'cross-site' }), twin.get(onOther, { site: 'cross-site' })])
      expect([here.status, there.status].sort()).toEqual([302, 400])
      expect(here.status === 400 ? here.body : there.body).toContain('already used')
    } finally {
      await other.stop()
    }
  })

  it('when the code is missing, then login_failed', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    cb.searchParams.delete('code')
    await expectLoginFailed(b, cb)
  })

  it('when the provider answers error=access_denied, then login_failed naming the error', async () => {
    const b = createBrowser()
    const start = await b.get(`${broker.origin}/bff/login`)
    const state = new URL(start.location!).searchParams.get('state')!
    const res = await expectLoginFailed(b, `${broker.origin}/bff/callback?error=access_denied&state=${state}`)
    expect(res.body).toContain('access_denied')
  })

  it("when a valid code from another browser's login arrives, then login_failed and that login still completes", async () => {
    const victim = createBrowser()
    const cb = await pendingCallback(victim)
    const attacker = createBrowser()
    await attacker.get(`${broker.origin}/bff/login`) // the attacker has a binding cookie of its own
    await expectLoginFailed(attacker, cb)
    const res = await victim.get(cb, { site: 'cross-site' })
    expect(res.status).toBe(302)
    expect((await user(victim)).status).toBe(200)
  })

  it('when the callback carries junk parameters, then a 4xx, never a 5xx or a stack trace', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    const junk = [
      `${broker.origin}/bff/callback?state=${'x'.repeat(5000)}&code=y`,
      `${broker.origin}/bff/callback?state[]=a&code=b`,
      `${broker.origin}/bff/callback?state=%E0%A4%A&code=%00`,
      `${cb.href}&code=second-code`,
      `${broker.origin}/bff/callback?${cb.searchParams.toString().replace(/iss=[^&]+/, 'iss=https%3A%2F%2Fevil.example')}`,
    ]
    for (const url of junk) {
      const res = await b.get(url, { site: 'cross-site' })
      expect(res.status, url).toBeGreaterThanOrEqual(400)
      expect(res.status, url).toBeLessThan(500)
      expect(res.body).not.toMatch(/at \w+ \(|node_modules/)
    }
    expect((await user(b)).status).toBe(401)
  })

  it('when the callback fails, then the log has no code and no query string', async () => {
    const b = createBrowser()
    const cb = await pendingCallback(b)
    cb.searchParams.set('state', 'B'.repeat(43))
    await b.get(cb, { site: 'cross-site' })
    const code = cb.searchParams.get('code')!
    expect(broker.logs.join('\n')).not.toContain(code)
  })

  it('when the login completes, then the callback sets the session only after the code exchange', async () => {
    const b = createBrowser()
    const { res } = await login(b, broker)
    expect(res.status).toBe(302)
    expect(b.cookie(broker.origin, 'bff-session')).toMatch(/^s%3A/)
  })
})
