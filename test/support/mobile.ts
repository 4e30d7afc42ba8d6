import { createMobileClient, type MobileClient } from '../../examples/mobile-client.js'
import { completeProviderLogin, createBrowser, type Browser } from './browser.js'
import type { TestBroker } from './start-app.js'

export const DPOP_APP = 'com.example.orders'
export const BEARER_APP = 'com.example.reports'
export const APP_REDIRECT = 'https://app.example.com/mobile/cb'
export const CUSTOM_SCHEME_REDIRECT = 'com.example.orders:/cb'

/** The `mobile` config section of the mobile tests: one DPoP app, one bearer app. */
export const mobileConfig = (extra: Record<string, unknown> = {}) => ({
  apps: [
    { clientId: DPOP_APP, redirectUris: [APP_REDIRECT, CUSTOM_SCHEME_REDIRECT] },
    { clientId: BEARER_APP, redirectUris: [APP_REDIRECT], dpop: false },
  ],
  ...extra,
})

export function mobileClient(broker: TestBroker, opts: { clientId?: string; redirectUri?: string; dpop?: boolean } = {}): MobileClient {
  const clientId = opts.clientId ?? DPOP_APP
  return createMobileClient({
    brokerUrl: broker.origin,
    clientId,
    redirectUri: opts.redirectUri ?? APP_REDIRECT,
    dpop: opts.dpop ?? clientId !== BEARER_APP,
  })
}

/**
 * The system browser's part of a mobile login: the authorize URL, the provider's pages, the broker's callback;
 * returns where the broker sends the browser back to (the app's redirect URI), without following it.
 */
export async function systemBrowserLogin(
  broker: TestBroker,
  authorizeUrl: string,
  opts: { browser?: Browser; user?: 'alice' | 'bob' } = {},
): Promise<{ location: string; browser: Browser }> {
  const browser = opts.browser ?? createBrowser()
  const start = await browser.get(authorizeUrl)
  if (start.status !== 302 || !start.location) throw new Error(`mobile authorize did not redirect: ${start.status} ${start.body}`)
  if (start.location.startsWith(broker.origin) === false && new URL(start.location).searchParams.has('error')) {
    return { location: start.location, browser }
  }
  const user = opts.user ?? 'alice'
  const callback = await completeProviderLogin(browser, start.location, { login: user, password: user })
  const back = await browser.get(callback, { site: 'cross-site' })
  if (back.status !== 302 || !back.location) throw new Error(`mobile callback did not redirect: ${back.status} ${back.body}`)
  return { location: back.location, browser }
}

/** A whole mobile login with the reference client: authorize, system browser, redeem. */
export async function mobileLogin(broker: TestBroker, client: MobileClient, opts: { user?: 'alice' | 'bob' } = {}) {
  const { url } = await client.authorizeUrl()
  const { location, browser } = await systemBrowserLogin(broker, url, opts)
  const token = await client.completeLogin(location)
  return { token, location, browser }
}
