import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { createBrowser, startBrokerWithProvider, startBrokerWithUpstream, type TestBroker } from '../../support/start-app.js'
import { completeProviderLogin, type BrowserResponse } from '../../support/browser.js'
import { TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'
import type { Upstream } from '../../support/upstream.js'
import { readLoginTransaction, readSessionGrant } from '../../support/grants.js'

let broker: TestBroker
let idp: RunningOidcProvider
let upstream: Upstream
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ broker, idp, upstream, stop } = await startBrokerWithUpstream((url) => ({
    name: 'no-token-leak',
    idp: { accessTokenTtlSeconds: 4 },
    // the upstream answers a fixed body: an echo API would hand the Bearer token back by design
    config: { apis: [{ path: '/api/small', target: `${url}/small`, token: 'user' }] },
  })))
})
afterAll(() => stop())

describe('no token reaches the browser or the logs (invariant 1)', () => {
  it('when a user logs in, calls an API across a refresh and logs out, then no broker response and no log line holds a token, code, verifier or the client secret', async () => {
    const b = createBrowser()
    const seen: BrowserResponse[] = []
    const record = async (p: Promise<BrowserResponse>) => {
      const res = await p
      if (res.url.startsWith(broker.origin)) seen.push(res)
      return res
    }
    const start = await record(b.get(`${broker.origin}/bff/login?returnTo=/app`))
    const state = new URL(start.location!).searchParams.get('state')!
    const verifier = readLoginTransaction(broker, b, state)!.codeVerifier
    const callback = await completeProviderLogin(b, start.location!)
    const code = new URL(callback).searchParams.get('code')!
    await record(b.get(callback, { site: 'cross-site' }))
    const xhr = { xhr: true, headers: { 'x-csrf': '1' } }
    const me = await record(b.get(`${broker.origin}/bff/user`, xhr))
    await record(b.get(`${broker.origin}/api/small`, xhr))
    const first = (await readSessionGrant(broker, b)).grant!
    await sleep(2300) // past half the 4 s lifetime: the next call refreshes
    await record(b.get(`${broker.origin}/api/small`, xhr))
    const second = (await readSessionGrant(broker, b)).grant!
    expect(second.tokens.accessToken).not.toBe(first.tokens.accessToken)
    const logout = await record(b.get(`${broker.origin}${JSON.parse(me.body).logoutUrl}`, { site: 'same-origin' }))

    const secrets: Record<string, string> = {
      'authorization code': code,
      'code verifier': verifier,
      'client secret': TEST_CLIENT_SECRET,
      'access token 1': first.tokens.accessToken,
      'refresh token 1': first.tokens.refreshToken!,
      'access token 2': second.tokens.accessToken,
      'refresh token 2': second.tokens.refreshToken!,
      'id token': first.tokens.idToken!,
    }
    expect(seen.length).toBe(6)
    for (const res of seen) {
      // OIDC RP-Initiated Logout's id_token_hint is the one documented exception (docs/architecture.md invariant 1)
      const headers = Object.entries(res.headers)
        .map(([k, v]) => (k === 'location' && res === logout ? String(v).replace(/id_token_hint=[^&]+/, '') : `${k}: ${String(v)}`))
        .join('\n')
      for (const [what, value] of Object.entries(secrets)) {
        expect(res.body.includes(value), `${what} in body of ${res.url}`).toBe(false)
        expect(headers.includes(value), `${what} in headers of ${res.url}`).toBe(false)
      }
    }
    expect(new URL(logout.location!).searchParams.get('id_token_hint')).toBe(second.tokens.idToken ?? first.tokens.idToken)
    const logs = broker.logs.join('\n')
    expect(broker.logs.length).toBeGreaterThan(5)
    for (const [what, value] of Object.entries(secrets)) expect(logs.includes(value), `${what} in logs`).toBe(false)
    expect(idp.counts.refreshTokenGrants).toBeGreaterThanOrEqual(1)
  })

  it('when logoutIdTokenHint is false, then the end-session redirect carries client_id instead of the ID token', async () => {
    const other = await startBrokerWithProvider({ name: 'no-hint', config: { provider: { logoutIdTokenHint: false } } })
    try {
      const b = createBrowser()
      const start = await b.get(`${other.broker.origin}/bff/login`)
      await b.get(await completeProviderLogin(b, start.location!), { site: 'cross-site' })
      const me = JSON.parse((await b.get(`${other.broker.origin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })).body)
      const res = await b.get(`${other.broker.origin}${me.logoutUrl}`, { site: 'same-origin' })
      const url = new URL(res.location!)
      expect(url.searchParams.get('id_token_hint')).toBeNull()
      expect(url.searchParams.get('client_id')).toBe('bff')
    } finally {
      await other.stop()
    }
  })
})
