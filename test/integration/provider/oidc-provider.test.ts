import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeProvider, providerConfig } from './fixtures.js'
import { startOidcProvider, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type RunningOidcProvider } from '../../support/oidc-provider.js'

const api = 'https://api.example.test/'
let idp: RunningOidcProvider
beforeAll(async () => {
  idp = await startOidcProvider({ resourceServers: { [api]: { scope: 'api:read' } }, postLogoutRedirectUris: ['http://127.0.0.1/'] })
})
afterAll(() => idp.stop())

const oidcConfig = (overrides = {}) =>
  providerConfig({
    issuer: idp.url,
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    scopes: ['openid', 'offline_access'],
    authorizationParams: { prompt: 'consent' },
    ...overrides,
  })

describe('against oidc-provider (discovery)', () => {
  it('when ensureReady is called, then the metadata is discovered and the provider is ready', async () => {
    const { provider, lines } = makeProvider(oidcConfig())
    expect(provider.isReady()).toBe(false)
    await provider.ensureReady()
    expect(provider.isReady()).toBe(true)
    expect(provider.hasRevocation()).toBe(true)
    expect(lines.some((l) => l.includes('provider.metadata_loaded'))).toBe(true)
  })

  it('when building the authorization URL, then it has code, S256, nonce, the scopes and the extra parameters', async () => {
    const { provider } = makeProvider(oidcConfig())
    const url = await provider.authorizationUrl({ state: 's1', codeChallenge: 'c'.repeat(43), nonce: 'n1', redirectUri: 'http://127.0.0.1/bff/callback' })
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/auth`)
    expect(Object.fromEntries(url.searchParams)).toEqual({
      prompt: 'consent', response_type: 'code', redirect_uri: 'http://127.0.0.1/bff/callback', state: 's1',
      scope: 'openid offline_access', code_challenge: 'c'.repeat(43), code_challenge_method: 'S256', nonce: 'n1', client_id: TEST_CLIENT_ID,
    })
  })

  it('when asking for client credentials for a resource, then a token comes back and can be revoked (RFC 7009)', async () => {
    const { provider } = makeProvider(oidcConfig())
    const tokens = await provider.clientCredentials({ scope: ['api:read'], resource: api })
    expect(tokens).toMatchObject({ tokenType: 'Bearer', scope: 'api:read' })
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() / 1000)
    expect(idp.counts.clientCredentialsGrants).toBeGreaterThan(0)
    const before = idp.counts.revocations
    await provider.revoke(tokens.accessToken, 'access_token')
    expect(idp.counts.revocations).toBe(before + 1)
  })

  it('when refreshing with an unknown refresh token, then the session is expired (invalid_grant)', async () => {
    const { provider } = makeProvider(oidcConfig())
    await expect(provider.refresh('not-a-refresh-token')).rejects.toMatchObject({ status: 401, code: 'session_expired' })
  })

  it('when the client secret is wrong, then a refresh keeps the session (502, not a logout)', async () => {
    const { provider } = makeProvider(oidcConfig({ clientSecret: 'wrong' }))
    await expect(provider.refresh('whatever')).rejects.toMatchObject({ status: 502, code: 'idp_unavailable' })
  })

  it('when building the end-session URL, then id_token_hint is sent when given, else client_id', async () => {
    const { provider } = makeProvider(oidcConfig())
    const withHint = await provider.endSessionUrl({ idTokenHint: 'x.y.z', postLogoutRedirectUri: 'http://127.0.0.1/' })
    expect(withHint?.searchParams.get('id_token_hint')).toBe('x.y.z')
    expect(withHint?.searchParams.get('post_logout_redirect_uri')).toBe('http://127.0.0.1/')
    const without = await provider.endSessionUrl({ postLogoutRedirectUri: 'http://127.0.0.1/' })
    expect(without?.searchParams.has('id_token_hint')).toBe(false)
    expect(without?.searchParams.get('client_id')).toBe(TEST_CLIENT_ID)
    const { provider: noHint } = makeProvider(oidcConfig({ logoutIdTokenHint: false }))
    const replaced = await noHint.endSessionUrl({ idTokenHint: 'x.y.z', postLogoutRedirectUri: 'http://127.0.0.1/' })
    expect(replaced?.searchParams.has('id_token_hint')).toBe(false)
  })

  it('when discovery fails at first, then startLoading retries with backoff until ready', async () => {
    let calls = 0
    const flaky: typeof fetch = async (input, init) => {
      calls++
      if (calls === 1) throw new TypeError('fetch failed')
      return fetch(input, init)
    }
    const { provider, lines } = makeProvider(oidcConfig(), { fetch: flaky })
    provider.startLoading()
    await expect.poll(() => provider.isReady(), { timeout: 5000, interval: 50 }).toBe(true)
    expect(calls).toBe(2)
    expect(lines.some((l) => l.includes('provider.metadata_failed'))).toBe(true)
    provider.stop()
  })

  it('when the issuer is unreachable, then ensureReady rejects with idp_unavailable and stop() ends the retries', async () => {
    const { provider } = makeProvider(oidcConfig({ issuer: new URL('http://127.0.0.1:9/') }))
    await expect(provider.ensureReady()).rejects.toMatchObject({ status: 503, code: 'idp_unavailable' })
    provider.startLoading()
    provider.stop()
    expect(provider.isReady()).toBe(false)
  })

  it('when an explicit endpoint is configured, then it overrides the discovered one', async () => {
    const { provider } = makeProvider(oidcConfig({ endSessionEndpoint: new URL('http://127.0.0.1:1/logout') }))
    const url = await provider.endSessionUrl({ postLogoutRedirectUri: 'http://127.0.0.1/' })
    expect(url?.href.startsWith('http://127.0.0.1:1/logout?')).toBe(true)
  })
})
