import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser as Chromium, Frame, Page } from 'playwright-core'
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../support/chromium.js'
import { startTestBroker, type TestBroker } from '../support/start-app.js'
import type { Browser } from '../support/browser.js'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../support/oidc-provider.js'
import { loginWithSid, signingKey, startOidcWireServer, type OidcWireServer } from '../support/wire/oidc.js'
import { startCrossSitePage, type CrossSitePage } from './cross-site.js'

// OpenID Connect Front-Channel Logout 1.0 in headless Chromium: a page on the provider's origin frames
// /bff/frontchannel-logout (rendered, the session ends); a page on another site that frames it is refused the
// rendering by frame-ancestors.
let idp: OidcWireServer
let broker: TestBroker
let chromium: Chromium
let elsewhere: CrossSitePage

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (never a downloaded browser)`)
  idp = await startOidcWireServer({ key: signingKey('k1'), clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET })
  broker = await startTestBroker({ name: 'e2e-frontchannel', issuer: idp.issuer, config: { provider: { scopes: ['openid'] } } })
  elsewhere = await startCrossSitePage()
  chromium = await launchChromium()
}, 60_000)
afterAll(async () => {
  await chromium?.close()
  await elsewhere?.stop()
  await broker?.stop()
  await idp?.stop()
})

const user = (b: Browser) => b.get(`${broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })

const loggedIn = (sid: string): Promise<Browser> => loginWithSid(broker.origin, idp, sid)

/** opens `embedder` and frames the front-channel logout URL of `sid` in it, as the provider's logout page does */
async function frameFrom(page: Page, embedder: string, sid: string): Promise<Frame> {
  await page.goto(embedder)
  const src = `${broker.origin}/bff/frontchannel-logout?iss=${encodeURIComponent(idp.issuer)}&sid=${encodeURIComponent(sid)}`
  const answered = page.waitForResponse((res) => res.url().startsWith(`${broker.origin}/bff/frontchannel-logout`))
  await page.evaluate((url) => {
    const frame = document.createElement('iframe')
    frame.src = url
    document.body.append(frame)
  }, src)
  expect((await answered).status()).toBe(200)
  const frame = page.frames()[1]!
  await frame.waitForLoadState('load')
  return frame
}

const frameText = (frame: Frame) => frame.evaluate(() => document.body?.innerText ?? '').catch(() => '')

describe('front-channel logout in Chromium', () => {
  it("when the provider's page frames the logout URL, then it renders and the session of that sid ends", async () => {
    const sid = randomUUID()
    const b = await loggedIn(sid)
    expect((await user(b)).status).toBe(200)
    const page = await chromium.newPage()
    try {
      const frame = await frameFrom(page, `${idp.issuer}/jwks`, sid)
      expect(await frameText(frame)).toContain('Logged out.')
      expect((await user(b)).status).toBe(401)
    } finally {
      await page.close()
    }
  })

  it('when a page of another site frames it, then Chromium refuses to render it (frame-ancestors)', async () => {
    const page = await chromium.newPage()
    const refusals: string[] = []
    page.on('console', (message) => {
      if (/frame-ancestors/.test(message.text())) refusals.push(message.text())
    })
    try {
      const frame = await frameFrom(page, elsewhere.url, 'unknown-sid')
      expect(await frameText(frame)).not.toContain('Logged out.')
      await expect.poll(() => refusals.length).toBeGreaterThan(0)
    } finally {
      await page.close()
    }
  })
})
