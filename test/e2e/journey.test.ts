import { mkdirSync } from 'node:fs'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js'
import { createLogger } from '../../src/observability/logger.js'
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../support/chromium.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../support/redis.js'
import { startCrossSitePage, type CrossSitePage } from './cross-site.js'
import { grantsInRedis } from './tokens.js'
import { recordTraffic, type SeenResponse, type SentRequest } from './traffic.js'

// The demo itself (provider, API, broker and page from src/demo) driven through a real headless Chromium, with the
// default SameSite=Strict session cookie. The broker is on `localhost`, the provider on 127.0.0.1: another site, so
// the provider's redirect back is a cross-site navigation, as with any real identity provider.

const SHOTS = 'test-results/e2e'
let seen: SeenResponse[] = []
let sent: SentRequest[] = []
const logs: string[] = []
let stack: DemoStack
let browser: Browser
let context: BrowserContext
let page: Page
let attacker: CrossSitePage

const shot = (p: Page, name: string) => p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true })

const broker = (path: string) => `${stack.url}${path}`
const fetchFromPage = (p: Page, path: string, headers: Record<string, string> = { 'X-CSRF': '1' }) =>
  p.evaluate(async ([u, h]) => (await fetch(u, { headers: h })).status, [path, headers] as const)

describe('demo journey in headless Chromium', () => {
  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (never a downloaded browser)`)
    mkdirSync(SHOTS, { recursive: true })
    const destination = new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) })
    stack = await startDemoStack({
      publicHost: 'localhost',
      providerHost: '127.0.0.1',
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('e2e-journey'),
      logger: createLogger({ level: 'debug', destination }),
    })
    attacker = await startCrossSitePage('127.0.0.2')
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 390, height: 844 } })
    const traffic = recordTraffic(context, stack.config.session.cookieName)
    seen = traffic.responses
    sent = traffic.requests
    page = await context.newPage()
  })

  afterAll(async () => {
    await browser?.close()
    await attacker?.stop()
    await stack?.stop()
  })

  it('when alice logs in through the provider pages, then the first /bff/user and API call after the redirect back succeed', async () => {
    await page.goto(broker('/'))
    await expect.poll(() => page.textContent('#status')).toBe('You are not logged in.')
    await shot(page, '01-logged-out')

    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL((url) => url.origin === stack.idp.issuer)
    await expect.poll(() => page.textContent('#demo-users')).toContain('alice')
    await shot(page, '02-provider-login')
    // only the demo users, with their passwords, get in
    await page.getByLabel('Login').fill('alice')
    await page.getByLabel('Password').fill('not-alice')
    await page.getByRole('button', { name: 'Sign-in' }).click()
    await expect.poll(() => page.textContent('#login-error')).toContain('Wrong login or password')
    await page.getByRole('link', { name: 'Try again' }).click()
    await page.getByLabel('Login').fill('alice')
    await page.getByLabel('Password').fill('alice')
    await page.getByRole('button', { name: 'Sign-in' }).click()
    await page.getByRole('button', { name: 'Continue' }).waitFor()
    await shot(page, '03-provider-consent')

    const landed = seen.length
    const landedSent = sent.length
    const firstUser = page.waitForResponse((res) => res.url() === broker('/bff/user'))
    const firstApi = page.waitForResponse((res) => res.url() === broker('/api/demo/orders'))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(broker('/'))
    expect((await firstUser).status()).toBe(200)
    expect((await firstApi).status()).toBe(200)
    await expect.poll(() => page.textContent('#api-answer')).toContain('"sub": "alice"')
    expect(await page.textContent('#status')).toBe('Logged in as alice.')
    expect(await page.textContent('#user-expires')).not.toContain('1970')
    expect(seen.slice(landed).filter((r) => r.url.startsWith(stack.url) && r.status >= 400)).toEqual([])
    // the SameSite=Strict pitfall, as Chromium has it: the landing navigation ends a redirect chain that began on the
    // provider's site, so it arrives without the session cookie; the page's own fetches are same-site and carry it.
    // A static page at returnTo is therefore enough; a server-rendered one would see "logged out" on this first load.
    const afterLogin = sent.slice(landedSent)
    expect(afterLogin.find((r) => r.navigation && r.url === broker('/'))).toMatchObject({ session: false })
    const calls = afterLogin.filter((r) => r.url === broker('/bff/user') || r.url === broker('/api/demo/orders'))
    expect(calls.map((r) => [new URL(r.url).pathname, r.session]).sort()).toEqual([
      ['/api/demo/orders', true],
      ['/bff/user', true],
    ])
    const cookie = (await context.cookies(stack.url)).find((c) => c.name === stack.config.session.cookieName)
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    // the API saw alice's live token, checked at the provider
    expect(stack.api.requests.at(-1)).toMatchObject({ status: 200, sub: 'alice' })
    await shot(page, '04-logged-in')
  })

  it('when the page is reloaded, then the session survives', async () => {
    await page.reload()
    await expect.poll(() => page.textContent('#status')).toBe('Logged in as alice.')
    await expect.poll(() => page.textContent('#api-answer')).toContain('"sub": "alice"')
    await shot(page, '05-reloaded')
  })

  it('when page JavaScript and every response are searched for the tokens, then none is found', async () => {
    const [grant] = await grantsInRedis(stack.config.redis.url!.href, stack.config.redis.keyPrefix, stack.tokenKeys)
    const { accessToken, refreshToken, idToken } = grant!.tokens
    expect(refreshToken).toBeTruthy()
    expect(idToken).toBeTruthy()
    expect(stack.api.requests.at(-1)?.authorization).toBe(`Bearer ${accessToken}`)
    const tokens = [accessToken, refreshToken!, idToken!]

    const visible = await page.evaluate(() => ({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    }))
    expect(visible.cookie).toBe('')
    expect(await page.textContent('#token-verdict')).toMatch(/^No token anywhere/)
    const everything = [JSON.stringify(visible), await page.content(), ...seen.map((r) => r.headers + r.body)].join('\n')
    expect(seen.some((r) => r.url === broker('/bff/user') && r.body.includes('"sub":"alice"'))).toBe(true)
    for (const token of tokens) expect(everything.includes(token)).toBe(false)
    for (const token of tokens) expect(logs.join('\n').includes(token)).toBe(false)
  })

  it('when a second browser context opens the page, then it is not logged in', async () => {
    const other = await browser.newContext()
    try {
      const stranger = await other.newPage()
      await stranger.goto(broker('/'))
      await expect.poll(() => stranger.textContent('#status')).toBe('You are not logged in.')
      expect(await fetchFromPage(stranger, '/api/demo/orders')).toBe(401)
      await shot(stranger, '06-second-context')
    } finally {
      await other.close()
    }
  })

  it("when a cross-site page calls the API with alice's cookie, then nothing reaches the upstream", async () => {
    const before = stack.api.requests.length
    const evil = await context.newPage()
    await evil.goto(attacker.url)
    const target = broker('/api/demo/orders')
    const attempts = await evil.evaluate(async (url) => {
      const attempt = (init: RequestInit) => fetch(url, { credentials: 'include', ...init }).then((r) => r.status, (e: Error) => e.name)
      return {
        plain: await attempt({}),
        withCsrf: await attempt({ headers: { 'X-CSRF': '1' } }),
        noCors: await attempt({ mode: 'no-cors', headers: { 'X-CSRF': '1' } }),
      }
    }, target)
    // the broker grants no CORS, so no answer is readable; no-cors is refused by Cross-Origin-Resource-Policy
    expect(attempts).toEqual({ plain: 'TypeError', withCsrf: 'TypeError', noCors: 'TypeError' })
    const posted = evil.waitForResponse((res) => res.url() === target && res.request().method() === 'POST')
    await evil.evaluate((url) => {
      const form = Object.assign(document.createElement('form'), { method: 'POST', action: url })
      form.append(Object.assign(document.createElement('input'), { name: 'X-CSRF', value: '1' }))
      document.body.append(form)
      form.submit()
    }, target)
    expect((await posted).status()).toBe(403)
    await evil.waitForLoadState()
    await shot(evil, '07-cross-site-form-post')
    await evil.close()
    expect(stack.api.requests.slice(before)).toEqual([])
    // alice's own page still works: the attack did not break her session
    expect(await fetchFromPage(page, '/api/demo/orders')).toBe(200)
  })

  it('when alice logs out, then the session ends and the API answers 401', async () => {
    const sessionCookie = (await context.cookies(stack.url)).find((c) => c.name === stack.config.session.cookieName)!
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL((url) => url.origin === stack.idp.issuer)
    await shot(page, '08-provider-logout')
    await page.getByRole('button', { name: 'Yes, sign me out' }).click()
    await page.waitForURL(broker('/'))
    await expect.poll(() => page.textContent('#status')).toBe('You are not logged in.')
    await shot(page, '09-logged-out-again')
    expect(await fetchFromPage(page, '/api/demo/orders')).toBe(401)
    const keys = await keysWithPrefix(stack.config.redis.url!.href, stack.config.redis.keyPrefix)
    expect(keys.filter((k) => /:(grant|sess):/.test(k.key))).toEqual([])
    // the old cookie, replayed from elsewhere, is dead too
    const replay = await browser.newContext()
    try {
      await replay.addCookies([sessionCookie])
      const p = await replay.newPage()
      await p.goto(broker('/'))
      expect(await fetchFromPage(p, '/bff/user')).toBe(401)
    } finally {
      await replay.close()
    }
  })
})
