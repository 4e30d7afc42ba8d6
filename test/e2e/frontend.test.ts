import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../support/chromium.js'
import { startBrokerWithUpstream, type TestBroker } from '../support/start-app.js'

// A built SPA served by the broker (frontend.static) in headless Chromium: a hand-written index.html and one hashed
// module, as a Vite build lays them out. It logs in through the broker against the real oidc-provider, calls an API
// (the echo upstream), follows a client-side route, is reloaded on it, and logs out.

const INDEX = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>orders</title>
<script>window.inlineRan = true</script>
<script type="module" src="/assets/app-3f2a9c1b.js"></script></head>
<body><p id="status">loading</p><p id="result"></p>
<button id="login" hidden>Log in</button> <button id="logout" hidden>Log out</button>
<a id="to-order" href="/orders/42">Order 42</a></body></html>`

// what an SPA behind the broker does: same-origin fetch (the cookie goes by itself) with X-CSRF: 1
const APP = `const $ = (id) => document.getElementById(id)
const api = (path) => fetch(path, { headers: { 'X-CSRF': '1', Accept: 'application/json' } })
async function render() {
  const me = await api('/bff/user')
  if (me.status === 401) { $('status').textContent = 'logged out'; $('login').hidden = false; return }
  const user = await me.json()
  $('status').textContent = 'logged in as ' + user.sub
  $('logout').hidden = false
  $('logout').onclick = () => location.assign(user.logoutUrl)
  const order = /^\\/orders\\/(\\d+)$/.exec(location.pathname)
  if (!order) return
  const res = await api('/api/orders/' + order[1])
  const body = await res.json()
  $('result').textContent = res.status + ' ' + body.url
}
$('login').onclick = () => location.assign('/bff/login?returnTo=' + encodeURIComponent(location.pathname))
$('to-order').onclick = (event) => { event.preventDefault(); history.pushState(null, '', '/orders/42'); render() }
render()
`

let dist: string
let broker: TestBroker
let stop: () => Promise<void>
let browser: Browser
let page: Page
const assetCaching: string[] = []

describe('an SPA served by the broker, in headless Chromium', () => {
  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (never a downloaded browser)`)
    dist = mkdtempSync(join(tmpdir(), 'bff-spa-'))
    mkdirSync(join(dist, 'assets'))
    writeFileSync(join(dist, 'index.html'), INDEX)
    writeFileSync(join(dist, 'assets', 'app-3f2a9c1b.js'), APP)
    ;({ broker, stop } = await startBrokerWithUpstream((url) => ({
      name: 'e2e-frontend',
      config: { apis: [{ path: '/api/orders', target: `${url}/echo/orders` }], frontend: { static: dist } },
    })))
    browser = await launchChromium()
    page = await (await browser.newContext()).newPage()
    page.on('response', (res) => {
      if (res.url().endsWith('/assets/app-3f2a9c1b.js')) assetCaching.push(res.headers()['cache-control'] ?? '')
    })
  })

  afterAll(async () => {
    await browser?.close()
    await stop?.()
    rmSync(dist, { recursive: true, force: true })
  })

  const url = (path: string) => `${broker.origin}${path}`
  const status = () => page.textContent('#status')

  it('when the app is opened, then its hashed module runs under the app CSP (an inline script does not) and it shows logged out', async () => {
    await page.goto(url('/'))
    await expect.poll(status).toBe('logged out')
    expect(await page.evaluate(() => (window as { inlineRan?: boolean }).inlineRan)).toBeUndefined()
    expect(assetCaching).toEqual(['public, max-age=31536000, immutable'])
  })

  it('when alice logs in from a client-side route, then she lands back on it and the page shows the API answer', async () => {
    await page.goto(url('/orders/42'))
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL((u) => u.pathname.startsWith('/interaction/'))
    await page.fill('input[name=login]', 'alice')
    await page.fill('input[name=password]', 'alice')
    await page.getByRole('button', { name: 'Sign-in' }).click()
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(url('/orders/42'))
    await expect.poll(status).toBe('logged in as alice')
    await expect.poll(() => page.textContent('#result')).toBe('200 /echo/orders/42')
  })

  it('when the page follows a client-side link and is reloaded there, then index.html still serves the route', async () => {
    await page.goto(url('/'))
    await expect.poll(status).toBe('logged in as alice')
    await page.click('#to-order')
    await expect.poll(() => page.textContent('#result')).toBe('200 /echo/orders/42')
    const reloaded = await page.reload()
    expect([200, 304]).toContain(reloaded?.status())
    expect(reloaded?.headers()['cache-control']).toBe('no-cache')
    await expect.poll(() => page.textContent('#result')).toBe('200 /echo/orders/42')
  })

  it('when alice logs out, then she is back on the app, logged out, and the API refuses her old session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('button', { name: 'Yes, sign me out' }).click()
    await page.waitForURL(url('/'))
    await expect.poll(status).toBe('logged out')
    const api = await page.evaluate(async () => (await fetch('/api/orders/42', { headers: { 'X-CSRF': '1' } })).status)
    expect(api).toBe(401)
  })
})
