import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBrowser, login, startBrokerWithProvider, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin } from '../../support/browser.js'
import type { RunningOidcProvider } from '../../support/oidc-provider.js'
import { freePort } from '../../support/redis.js'
import { loginCookieName } from '../../../src/http/login-cookies.js'

describe('session cookie on an http publicUrl (invariant 2)', () => {
  let broker: TestBroker
  let stop: () => Promise<void>
  beforeAll(async () => {
    ;({ broker, stop } = await startBrokerWithProvider({ name: 'cookies-http' }))
  })
  afterAll(() => stop())

  it('when a browser logs in, then the session cookie is HttpOnly, SameSite=Strict, Path=/, host-only, opaque and signed', async () => {
    const b = createBrowser()
    await login(b, broker)
    const session = b.cookies(broker.origin).find((c) => c.name === 'bff-session')!
    expect(session.httpOnly).toBe(true)
    expect(session.sameSite).toBe('Strict')
    expect(session.path).toBe('/')
    expect(session.domain).toBeUndefined()
    expect(session.secure).toBe(false)
    // express-session format: s:<256-bit random id>.<HMAC>; nothing about the user in it
    expect(decodeURIComponent(session.value)).toMatch(/^s:[\w-]{43}\.[\w+/]{43}$/)
    expect(session.value).not.toContain('alice')
  })

  it('when the login starts, then its login-state cookie is HttpOnly and SameSite=Lax so it survives the redirect back, and opaque', async () => {
    const b = createBrowser()
    const start = await b.get(`${broker.origin}/bff/login`)
    const state = new URL(start.location!).searchParams.get('state')!
    const pending = b.cookies(broker.origin).filter((c) => c.name.startsWith('bff-login'))
    expect(pending.map((c) => c.name)).toEqual([loginCookieName('bff-login', state)])
    const cookie = pending[0]!
    expect(cookie.httpOnly).toBe(true)
    expect(cookie.sameSite).toBe('Lax')
    expect(cookie.path).toBe('/')
    expect(cookie.maxAge).toBeLessThanOrEqual(600)
    // sealed (AES-GCM): neither the state nor the PKCE verifier nor the returnTo can be read from it
    expect(cookie.value).not.toContain(state)
    expect(cookie.value.length).toBeLessThan(1000)
  })

  it('when session.sameSite is lax, then the session cookie is SameSite=Lax', async () => {
    const lax = await startBrokerWithProvider({ name: 'cookies-lax', config: { session: { sameSite: 'lax' } } })
    try {
      const b = createBrowser()
      await login(b, lax.broker)
      expect(b.cookies(lax.broker.origin).find((c) => c.name === 'bff-session')!.sameSite).toBe('Lax')
    } finally {
      await lax.stop()
    }
  })
})

describe('session cookie on an https publicUrl (invariant 2)', () => {
  let broker: TestBroker
  let idp: RunningOidcProvider
  let stop: () => Promise<void>
  const publicUrl = 'https://app.example.test'
  beforeAll(async () => {
    const port = await freePort()
    ;({ broker, idp, stop } = await startBrokerWithProvider({
      name: 'cookies-https',
      port,
      config: { publicUrl },
      idp: { redirectUris: [`${publicUrl}/bff/callback`], postLogoutRedirectUris: [`${publicUrl}/`] },
    }))
  })
  afterAll(() => stop())

  it('when a browser logs in, then the cookies are Secure with the __Host- prefix, and HSTS is sent', async () => {
    const b = createBrowser()
    // TLS ends at a proxy in production; here the browser talks to the loopback port and the callback URL is rewritten
    const loopback = `http://127.0.0.1:${broker.config.port}`
    const start = await b.get(`${loopback}/bff/login`)
    expect(start.status).toBe(302)
    expect(new URL(start.location!).searchParams.get('redirect_uri')).toBe(`${publicUrl}/bff/callback`)
    const state = new URL(start.location!).searchParams.get('state')!
    const binding = b.cookies(loopback).find((c) => c.name === loginCookieName('__Host-bff-login', state))!
    expect(binding.secure).toBe(true)
    expect(binding.path).toBe('/')
    expect(binding.domain).toBeUndefined()
    const callback = new URL(await completeProviderLogin(b, start.location!))
    const res = await b.get(`${loopback}${callback.pathname}${callback.search}`, { site: 'cross-site' })
    expect(res.status).toBe(302)
    const session = b.cookies(loopback).find((c) => c.name === '__Host-bff-session')!
    expect(session.secure).toBe(true)
    expect(session.httpOnly).toBe(true)
    expect(session.path).toBe('/')
    expect(session.domain).toBeUndefined()
    expect(session.sameSite).toBe('Strict')
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/)
    const me = await b.get(`${loopback}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
    expect(JSON.parse(me.body).sub).toBe('alice')
    void idp
  })
})
