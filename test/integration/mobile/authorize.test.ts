import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { createBrowser } from '../../support/browser.js'
import { APP_REDIRECT, BEARER_APP, CUSTOM_SCHEME_REDIRECT, DPOP_APP } from '../../support/mobile.js'
import { authorizeParams, authorizeUrl, manualLogin, mobileBrokerConfig, redeem, withHandle } from './support.js'

// GET /bff/mobile/authorize and the mobile end of /bff/callback: the app's client_id and exact redirect_uri are
// checked before anything is redirected (RFC 6749 §4.1.2.1, RFC 8252 §8.4); later errors go back to the app.

// a registered redirect URI with a query of its own, in a form a re-encoding would change (%20 → +, flag → flag=)
const QUERY_REDIRECT = 'https://app.example.com/mobile/cb?tenant=a%20b&flag'
let broker: TestBroker
let stop: () => Promise<void>
beforeAll(async () => {
  const apps = [
    { clientId: DPOP_APP, redirectUris: [APP_REDIRECT, CUSTOM_SCHEME_REDIRECT, QUERY_REDIRECT] },
    { clientId: BEARER_APP, redirectUris: [APP_REDIRECT], dpop: false },
  ]
  ;({ broker, stop } = await startBrokerWithUpstream((url) => ({ name: 'mobile-authorize', config: mobileBrokerConfig(url, { apps }) })))
})
afterAll(() => stop())

const open = async (params: Record<string, string | undefined>) => createBrowser().get(authorizeUrl(broker, params))

function expectPageNotRedirect(res: { status: number; headers: Record<string, string | string[]>; location?: string }) {
  expect(res.status).toBe(400)
  expect(res.location).toBeUndefined()
  expect(String(res.headers['content-type'])).toMatch(/^text\/html/)
}

/** The 302 back to the app with an OAuth error: the registered redirect URI, the app's state and the broker's iss. */
function expectErrorBackToApp(res: { status: number; location?: string }, state: string | null | undefined, error: string) {
  expect(res.status).toBe(302)
  const back = new URL(res.location!)
  expect(`${back.origin}${back.pathname}`).toBe(APP_REDIRECT)
  expect(back.searchParams.get('error')).toBe(error)
  expect(back.searchParams.get('state')).toBe(state)
  expect(back.searchParams.get('iss')).toBe(broker.origin)
  expect(back.searchParams.has('code')).toBe(false)
}

describe('GET /bff/mobile/authorize: who is asking', () => {
  it('when the client_id is unknown, then a 400 page and never a redirect', async () => {
    const { params } = await authorizeParams()
    expectPageNotRedirect(await open({ ...params, client_id: 'com.example.unknown' }))
    expectPageNotRedirect(await open({ ...params, client_id: undefined }))
  })

  it('when the redirect_uri is not registered for the client (another, a prefix, extra query, other case, percent-encoded, default port), then a 400 page', async () => {
    const { params } = await authorizeParams()
    const wrong = [
      'https://evil.example/mobile/cb',
      'https://app.example.com/mobile',
      'https://app.example.com/mobile/c',
      'https://app.example.com/mobile/cb/',
      'https://app.example.com/mobile/cb?x=1',
      'https://APP.example.com/mobile/cb',
      'https://app.example.com/Mobile/cb',
      'HTTPS://app.example.com/mobile/cb',
      'https://app.example.com/mobile/%63b',
      'https://app.example.com/mobile%2Fcb',
      'https://app.example.com:443/mobile/cb',
      'com.example.orders:/cb/extra',
      'com.example.ORDERS:/cb',
    ]
    for (const redirectUri of wrong) expectPageNotRedirect(await open({ ...params, redirect_uri: redirectUri }))
    // registered, but for another app
    expectPageNotRedirect(await open({ ...params, client_id: BEARER_APP, redirect_uri: CUSTOM_SCHEME_REDIRECT }))
    expectPageNotRedirect(await open({ ...params, redirect_uri: undefined }))
  })
})

describe('GET /bff/mobile/authorize: what the app must send', () => {
  it('when code_challenge is missing, then 302 to redirect_uri?error=invalid_request&state=…&iss', async () => {
    const { params } = await authorizeParams()
    expectErrorBackToApp(await open({ ...params, code_challenge: undefined }), params.state, 'invalid_request')
  })

  it('when code_challenge_method is plain, then 302 to redirect_uri?error=invalid_request', async () => {
    const { params } = await authorizeParams()
    expectErrorBackToApp(await open({ ...params, code_challenge_method: 'plain' }), params.state, 'invalid_request')
  })

  it('when code_challenge_method is missing, then 302 to redirect_uri?error=invalid_request', async () => {
    const { params } = await authorizeParams()
    expectErrorBackToApp(await open({ ...params, code_challenge_method: undefined }), params.state, 'invalid_request')
  })

  it('when a DPoP app sends no dpop_jkt, then 302 to redirect_uri?error=invalid_request', async () => {
    const { params } = await authorizeParams()
    expectErrorBackToApp(await open({ ...params, dpop_jkt: undefined }), params.state, 'invalid_request')
  })

  it('when a parameter is repeated, then a 400 page for client_id or redirect_uri, else 302 with error=invalid_request and no state echoed (RFC 6749 §3.1)', async () => {
    const { params } = await authorizeParams()
    const base = authorizeUrl(broker, params)
    const twice = (name: string, value: string) => createBrowser().get(`${base}&${name}=${encodeURIComponent(value)}`)
    expectPageNotRedirect(await twice('client_id', DPOP_APP))
    expectPageNotRedirect(await twice('redirect_uri', APP_REDIRECT))
    expectErrorBackToApp(await twice('state', 'another-state'), null, 'invalid_request')
    for (const name of ['code_challenge', 'code_challenge_method', 'dpop_jkt']) {
      expectErrorBackToApp(await twice(name, params[name]!), params.state, 'invalid_request')
    }
  })

  it('when the state is empty, then 302 to redirect_uri?error=invalid_request', async () => {
    const { params } = await authorizeParams()
    expectErrorBackToApp(await open({ ...params, state: '' }), '', 'invalid_request')
  })

  it('when the registered redirect URI has a query of its own, then the answer keeps it as registered and appends error, state and iss', async () => {
    const { params } = await authorizeParams({ redirectUri: QUERY_REDIRECT })
    const res = await open({ ...params, code_challenge: undefined })
    expect(res.status).toBe(302)
    expect(res.location!.startsWith(`${QUERY_REDIRECT}&`)).toBe(true)
    const back = new URL(res.location!).searchParams
    expect([back.get('tenant'), back.get('error'), back.get('state'), back.get('iss')]).toEqual(['a b', 'invalid_request', params.state, broker.origin])
  })

  it('when a bearer app sends no dpop_jkt, then the login goes on to the provider', async () => {
    const { params } = await authorizeParams({ clientId: BEARER_APP })
    const res = await open(params)
    expect(res.status).toBe(302)
    expect(new URL(res.location!).origin).not.toBe(broker.origin)
    expect(new URL(res.location!).searchParams.get('code_challenge_method')).toBe('S256')
  })
})

describe('the mobile end of /bff/callback', () => {
  it('when the app registered a custom-scheme redirect URI, then the login ends there and the code redeems for a working handle', async () => {
    const login = await manualLogin(broker, { redirectUri: CUSTOM_SCHEME_REDIRECT })
    expect(login.location.startsWith(`${CUSTOM_SCHEME_REDIRECT}?`)).toBe(true)
    const back = new URL(login.location)
    expect(back.searchParams.get('state')).toBe(login.state)
    expect(back.searchParams.get('iss')).toBe(broker.origin)
    const token = await redeem(broker, login)
    expect(token.status).toBe(200)
    const user = await withHandle(broker, '/bff/user', token.body.access_token as string, { key: login.key })
    expect(user.status).toBe(200)
  })

  it('when the registered redirect URI has a query of its own, then the code comes back appended to it and redeems with that exact redirect_uri', async () => {
    const login = await manualLogin(broker, { redirectUri: QUERY_REDIRECT })
    expect(login.location.startsWith(`${QUERY_REDIRECT}&code=`)).toBe(true)
    expect(new URL(login.location).searchParams.get('state')).toBe(login.state)
    expect((await redeem(broker, login)).status).toBe(200)
  })

  it('when a mobile login completes, then the system browser holds no session cookie and its login cookie is cleared', async () => {
    const login = await manualLogin(broker)
    const names = login.browser.cookies(broker.origin).map((c) => c.name)
    expect(names).not.toContain(broker.config.session.cookieName)
    expect(names.filter((n) => n.startsWith(broker.config.session.loginCookieName))).toEqual([])
  })

  it('when the user aborts at the provider, then 302 to redirect_uri?error=access_denied&state=… and no session is made', async () => {
    const { params } = await authorizeParams()
    const browser = createBrowser()
    const start = await browser.get(authorizeUrl(broker, params))
    // oidc-provider's dev interaction page: its abort link answers the client with error=access_denied
    const interaction = (await browser.follow(start.location!, { site: 'cross-site' })).at(-1)!
    let hop = await browser.get(`${interaction.url.replace(/\/$/, '')}/abort`, { site: 'same-origin' })
    while (hop.location && !hop.location.startsWith(broker.origin)) hop = await browser.get(hop.location, { site: 'same-origin' })
    const callback = hop.location!
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied')
    const back = await browser.get(callback, { site: 'cross-site' })
    expectErrorBackToApp(back, params.state, 'access_denied')
    expect(browser.cookies(broker.origin).map((c) => c.name)).not.toContain(broker.config.session.cookieName)
  })

  it('when the callback carries error=access_denied with a valid login cookie, then 302 to redirect_uri?error=access_denied&state=…', async () => {
    const { params } = await authorizeParams()
    const browser = createBrowser()
    const start = await browser.get(authorizeUrl(broker, params))
    const state = new URL(start.location!).searchParams.get('state')!
    const iss = new URL(start.location!).origin
    const back = await browser.get(`${broker.origin}/bff/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(iss)}`, {
      site: 'cross-site',
    })
    expectErrorBackToApp(back, params.state, 'access_denied')
  })

  it('when the provider answers another error (server_error, login_required, interaction_required), then it reaches the app as error=access_denied&state=…', async () => {
    for (const providerError of ['server_error', 'login_required', 'interaction_required']) {
      const { params } = await authorizeParams()
      const browser = createBrowser()
      const start = new URL((await browser.get(authorizeUrl(broker, params))).location!)
      const callback = new URL('/bff/callback', broker.origin)
      callback.search = new URLSearchParams({ error: providerError, state: start.searchParams.get('state')!, iss: start.origin }).toString()
      expectErrorBackToApp(await browser.get(callback, { site: 'cross-site' }), params.state, 'access_denied')
    }
  })

  it('when the provider login succeeds, then the code comes back with the app state and iss, never a provider token', async () => {
    const login = await manualLogin(broker, { clientId: DPOP_APP })
    const back = new URL(login.location)
    expect([...back.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state'])
    expect(login.code).toMatch(/^[\w-]{43}$/)
    expect(login.location).not.toMatch(/eyJ/)
  })
})
