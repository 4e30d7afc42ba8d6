import { afterEach, describe, expect, it } from 'vitest'
import { calculateCodeChallenge, loginChecks } from './pkce.js'
import { dialectConfig, makeProvider, redirectUri } from './fixtures.js'
import { samsungTokenPath, startWireServer, type WireServer } from '../../support/wire/index.js'

let wire: WireServer | undefined
afterEach(async () => {
  await wire?.stop()
  wire = undefined
})

/** Runs the authorization step through the wire server like a browser, then returns what exchangeCode got. */
async function codeFlow(provider: ReturnType<typeof makeProvider>['provider'], server: WireServer, nonce?: string) {
  const checks = loginChecks(nonce)
  const url = await provider.authorizationUrl({
    state: checks.state, codeChallenge: await calculateCodeChallenge(checks.codeVerifier), nonce, redirectUri,
  })
  const callback = await server.authorize(url)
  return { url, tokens: await provider.exchangeCode(callback, checks, redirectUri) }
}

describe('sami wire format', () => {
  const creds = { clientId: 's6BhdRkqt3', clientSecret: 'gX1fBat3bV' }

  it('when logging in, then the authorize URL has scope=read,write and the token request the documented Basic header', async () => {
    wire = await startWireServer('sami', creds)
    const { provider } = makeProvider(dialectConfig('sami', wire.url, creds))
    const { url, tokens } = await codeFlow(provider, wire)
    expect(url.pathname).toBe('/authorize')
    expect(url.searchParams.get('scope')).toBe('read,write')
    expect(url.searchParams.get('response_type')).toBe('code')
    expect(wire.problems).toEqual([])
    const token = wire.requests.find((r) => r.path === '/token')
    expect(token?.headers.authorization).toBe('Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW')
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 })
    expect(tokens.refreshToken).toMatch(/^sami-rt-/)
  })

  it('when refreshing, then a new access token comes back; a spent refresh token gives session_expired', async () => {
    wire = await startWireServer('sami', creds)
    const { provider } = makeProvider(dialectConfig('sami', wire.url, creds))
    const { tokens } = await codeFlow(provider, wire)
    const refreshed = await provider.refresh(tokens.refreshToken as string)
    expect(refreshed.accessToken).not.toBe(tokens.accessToken)
    await expect(provider.refresh(tokens.refreshToken as string)).rejects.toMatchObject({ code: 'session_expired', status: 401 })
    expect(wire.problems).toEqual([])
  })

  it('when asking for client credentials, then the body is grant_type=client_credentials&scope=read,write', async () => {
    wire = await startWireServer('sami', creds)
    const { provider } = makeProvider(dialectConfig('sami', wire.url, creds))
    const tokens = await provider.clientCredentials({ scope: ['read', 'write'] })
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 })
    expect(tokens.refreshToken).toBeUndefined()
    const body = new URLSearchParams(wire.requests.at(-1)?.body)
    expect(Object.fromEntries(body)).toEqual({ grant_type: 'client_credentials', scope: 'read,write' })
    expect(wire.problems).toEqual([])
  })
})

describe('samsung-account wire format', () => {
  it('when logging in, then signInGate gets response_type=CODE and the token endpoint a JSON body; userId and no refresh token come back', async () => {
    wire = await startWireServer('samsung-account')
    const config = dialectConfig('samsung-account', wire.url, { tokenEndpoint: new URL(samsungTokenPath, wire.url) })
    const { provider } = makeProvider(config)
    const { url, tokens } = await codeFlow(provider, wire)
    expect(url.pathname).toBe('/accounts/dfltThirdParty/signInGate')
    expect(url.searchParams.get('response_type')).toBe('CODE')
    expect(url.searchParams.has('scope')).toBe(false)
    expect(wire.problems).toEqual([])
    const body = JSON.parse(wire.requests.find((r) => r.path === samsungTokenPath)?.body ?? '{}') as Record<string, unknown>
    expect(body).toMatchObject({ client_id: 'wire-client', client_secret: 'wire-secret', grant_type: 'authorization_code', redirect_uri: redirectUri })
    expect(tokens.refreshToken).toBeUndefined()
    expect(tokens.extra?.userId).toBe('y0zpz')
    expect(tokens.expiresIn).toBe(3600)
  })

  it('when only access_token_expires_in is sent, then it gives the expiry', async () => {
    wire = await startWireServer('samsung-account', {
      tokenAnswer: ({ expires_in: _drop, ...rest }) => ({ ...rest, access_token_expires_in: 1800 }),
    })
    const config = dialectConfig('samsung-account', wire.url, { tokenEndpoint: new URL(samsungTokenPath, wire.url) })
    const now = () => 1_700_000_000_000
    const { provider } = makeProvider(config, { now })
    const { tokens } = await codeFlow(provider, wire)
    expect(tokens).toMatchObject({ expiresIn: 1800, expiresAt: 1_700_000_000 + 1800 })
  })
})

describe('light-oauth2 wire format', () => {
  const creds = { clientId: '6e9d1db3-2feb-4c1f-a5ad-9e93ae8ca59d', clientSecret: 'sQesTWAnTwaw-Nn0oK35GA' }

  it('when logging in, then /oauth2/code and /oauth2/token are used with the raw id:secret in Basic', async () => {
    wire = await startWireServer('light-oauth2', creds)
    const { provider } = makeProvider(dialectConfig('light-oauth2', wire.url, creds))
    const { url, tokens } = await codeFlow(provider, wire)
    expect(url.pathname).toBe('/oauth2/code')
    expect(wire.problems).toEqual([])
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 600 })
    expect(tokens.refreshToken).toBeUndefined()
  })

  it('when asking for client credentials, then the documented answer comes back', async () => {
    wire = await startWireServer('light-oauth2', creds)
    const { provider } = makeProvider(dialectConfig('light-oauth2', wire.url, creds))
    await expect(provider.clientCredentials()).resolves.toMatchObject({ expiresIn: 600 })
    expect(new URLSearchParams(wire.requests.at(-1)?.body).get('grant_type')).toBe('client_credentials')
    expect(wire.problems).toEqual([])
  })
})

describe('identity-hub wire format', () => {
  it('when logging in and refreshing, then the tenant paths get PKCE and the credentials in the body', async () => {
    wire = await startWireServer('identity-hub', { tenant: 'acme' })
    const { provider } = makeProvider(dialectConfig('identity-hub', wire.url, { tenant: 'acme' }))
    const { url, tokens } = await codeFlow(provider, wire)
    expect(url.pathname).toBe('/acme/oauth2/v1/auth/')
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    const refreshed = await provider.refresh(tokens.refreshToken as string, { scope: ['a', 'b'], resource: 'https://api.example/' })
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken)
    const last = new URLSearchParams(wire.requests.at(-1)?.body)
    expect(wire.requests.at(-1)?.path).toBe('/acme/oauth2/v1/token/')
    expect(last.get('scope')).toBe('a b')
    expect(last.get('resource')).toBe('https://api.example/')
    expect(wire.problems).toEqual([])
  })
})

describe('breakout wire format', () => {
  const creds = { clientId: 'breakout_app', clientSecret: '123456789' }

  it('when logging in with a password, then the documented request goes out and /me/ names the user', async () => {
    wire = await startWireServer('breakout', creds)
    const { provider } = makeProvider(dialectConfig('breakout', wire.url, { ...creds, passwordGrant: true }))
    const tokens = await provider.password('admin@break-out.org', 'password')
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 42961, scope: 'read write' })
    const sent = wire.requests.find((r) => r.path === '/oauth/token')
    expect(sent?.headers.authorization).toBe(`Basic ${Buffer.from('breakout_app:123456789').toString('base64')}`)
    expect(Object.fromEntries(new URLSearchParams(sent?.body))).toEqual({
      username: 'admin@break-out.org', password: 'password', grant_type: 'password', scope: 'read write',
    })
    await expect(provider.userinfo(tokens.accessToken)).resolves.toEqual({ id: 42, email: 'admin@break-out.org' })
    expect(wire.requests.at(-1)).toMatchObject({ method: 'GET', path: '/me/' })
    const refreshed = await provider.refresh(tokens.refreshToken as string)
    expect(refreshed.accessToken).not.toBe(tokens.accessToken)
    expect(wire.problems).toEqual([])
  })

  it('when the password is wrong, then the login failed', async () => {
    wire = await startWireServer('breakout', creds)
    const { provider } = makeProvider(dialectConfig('breakout', wire.url, { ...creds, passwordGrant: true }))
    await expect(provider.password('admin@break-out.org', 'nope')).rejects.toMatchObject({ code: 'login_failed', status: 401 })
  })

  it('when the password grant is off, then password() refuses without calling the provider', async () => {
    wire = await startWireServer('breakout', creds)
    const { provider } = makeProvider(dialectConfig('breakout', wire.url, { ...creds, authorizationEndpoint: new URL('/oauth/authorize', wire.url) }))
    await expect(provider.password('a', 'b')).rejects.toMatchObject({ status: 404 })
    expect(wire.requests).toEqual([])
  })

  it('when /me/ refuses the token, then it is a login failure', async () => {
    wire = await startWireServer('breakout', creds)
    const { provider } = makeProvider(dialectConfig('breakout', wire.url, { ...creds, passwordGrant: true }))
    await expect(provider.userinfo('not-a-token')).rejects.toMatchObject({ code: 'login_failed' })
  })
})
