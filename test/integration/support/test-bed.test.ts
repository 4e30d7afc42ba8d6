import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { completeProviderLogin, completeProviderLogout, createBrowser, type Browser } from '../../support/browser.js'
import {
  startOidcProvider,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type RunningOidcProvider,
} from '../../support/oidc-provider.js'
import { keysWithPrefix, redisUrl, startRedisServer, uniquePrefix } from '../../support/redis.js'

// The callback never has to answer: the browser stops at the redirect, as a test would before
// handing the URL to the broker.
const redirectUri = 'http://127.0.0.1:9/bff/callback'
const postLogoutRedirectUri = 'http://127.0.0.1:9/'

describe('the shared redis', () => {
  it('when a test writes keys under its prefix, then keysWithPrefix lists them with their TTLs', async () => {
    const prefix = uniquePrefix('test-bed')
    const redis = new Redis(redisUrl())
    try {
      await redis.set(`${prefix}expiring`, '1', 'EX', 60)
      await redis.set(`${prefix}forever`, '1')
      await redis.set(`${uniquePrefix('other')}x`, '1', 'EX', 5)
      const keys = await keysWithPrefix(redisUrl(), prefix)
      expect(keys.map((k) => k.key)).toEqual([`${prefix}expiring`, `${prefix}forever`])
      expect(keys[0]?.ttlMs).toBeGreaterThan(55_000)
      expect(keys[1]?.ttlMs).toBe(-1)
    } finally {
      redis.disconnect()
    }
  })
})

describe('a dedicated redis-server', () => {
  it('when stopped, then it refuses connections, and when started again it answers on the same port', async () => {
    const server = await startRedisServer()
    const redis = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 })
    redis.on('error', () => {})
    try {
      await waitFor(() => redis.status === 'ready')
      expect(await redis.ping()).toBe('PONG')
      await server.stop()
      await expect(redis.ping()).rejects.toThrow()
      await server.start()
      await waitFor(() => redis.status === 'ready')
      expect(await redis.ping()).toBe('PONG')
    } finally {
      redis.disconnect()
      await server.stop()
    }
  })
})

describe('the oidc-provider', () => {
  let idp: RunningOidcProvider
  let config: client.Configuration
  const logoutTokens: string[] = []
  let receiver: Server

  beforeAll(async () => {
    receiver = await listen((body) => logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? ''))
    const { port } = receiver.address() as AddressInfo
    idp = await startOidcProvider({
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [postLogoutRedirectUri],
      backchannelLogoutUri: `http://127.0.0.1:${port}/bff/backchannel-logout`,
    })
    config = await client.discovery(idp.url, TEST_CLIENT_ID, undefined, client.ClientSecretBasic(TEST_CLIENT_SECRET), {
      execute: [client.allowInsecureRequests],
    })
  })
  afterAll(async () => {
    await idp.stop()
    receiver.close()
  })

  async function login(credentials = { login: 'alice', password: 'alice' }, browser?: Browser) {
    const owned = browser ? undefined : createBrowser()
    const codeVerifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
    })
    try {
      const callback = await completeProviderLogin(browser ?? owned!, authorizationUrl, credentials)
      return { callback, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce } }
    } finally {
      await owned?.close()
    }
  }

  it('when alice logs in with PKCE, then one code grant yields tokens and one refresh rotates the refresh token', async () => {
    idp.resetCounts()
    const { callback, checks } = await login()
    expect(callback.startsWith(`${redirectUri}?`)).toBe(true)
    expect(new URL(callback).searchParams.get('iss')).toBe(idp.issuer)

    const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks)
    expect(tokens.claims()).toMatchObject({ sub: 'alice', name: 'Alice Liddell', email: 'alice@example.test' })
    expect(tokens.expires_in).toBe(300)
    const firstRefreshToken = tokens.refresh_token
    expect(firstRefreshToken).toBeTypeOf('string')

    const refreshed = await client.refreshTokenGrant(config, firstRefreshToken ?? '')
    expect(refreshed.access_token).not.toBe(tokens.access_token)
    expect(refreshed.refresh_token).toBeTypeOf('string')
    expect(refreshed.refresh_token).not.toBe(firstRefreshToken)
    expect(idp.counts).toMatchObject({ authorizationCodeGrants: 1, refreshTokenGrants: 1, refreshTokensConsumed: 1, grantErrors: 0 })

    // Rotation: presenting the old refresh token again is refused and revokes the whole grant.
    await expect(client.refreshTokenGrant(config, firstRefreshToken ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    })
    expect(idp.counts).toMatchObject({ refreshTokenGrants: 1, grantErrors: 2, grantErrorCodes: ['invalid_grant', 'invalid_grant'] })
    expect(idp.counts.grantsRevoked).toBeGreaterThanOrEqual(1)
  })

  it('when a refresh token is revoked, then the revocation is counted and the token no longer refreshes', async () => {
    const { callback, checks } = await login({ login: 'bob', password: 'bob' })
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks)
    expect(tokens.claims()?.sub).toBe('bob')
    idp.resetCounts()
    await client.tokenRevocation(config, tokens.refresh_token ?? '', { token_type_hint: 'refresh_token' })
    expect(idp.counts.revocations).toBe(1)
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })
  })

  it('when the password is wrong, then the provider refuses the login', async () => {
    await expect(login({ login: 'alice', password: 'bob' })).rejects.toThrow(/refused the login/)
    await expect(login({ login: 'mallory', password: 'mallory' })).rejects.toThrow(/refused the login/)
  })

  it('when the client asks for client credentials, then it gets an access token and the grant is counted', async () => {
    idp.resetCounts()
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read' })
    expect(tokens.access_token).toBeTypeOf('string')
    expect(tokens.scope).toBe('api:read')
    expect(tokens.refresh_token).toBeUndefined()
    expect(idp.counts.clientCredentialsGrants).toBe(1)
  })

  it('when the user confirms logout at the provider, then it redirects back and sends a back-channel logout token', async () => {
    const browser = createBrowser()
    try {
      const { callback, checks } = await login(undefined, browser)
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks)
      idp.resetCounts()
      logoutTokens.length = 0
      const endSessionUrl = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: postLogoutRedirectUri,
        state: 'after-logout',
      })
      const back = await completeProviderLogout(browser, endSessionUrl)
      expect(back).toBe(`${postLogoutRedirectUri}?state=after-logout`)
      expect(idp.counts).toMatchObject({ endSessions: 1, backchannelLogouts: 1, backchannelLogoutErrors: 0 })
      expect(logoutTokens).toHaveLength(1)
      const [, payload = ''] = (logoutTokens[0] ?? '').split('.')
      expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({
        sub: 'alice',
        sid: tokens.claims()?.sid,
        iss: idp.issuer,
      })
    } finally {
      await browser.close()
    }
  })
})

describe('the browser', () => {
  let server: Server
  let origin: string
  const seen: Array<Record<string, string | string[] | undefined>> = []

  beforeAll(async () => {
    server = await listen((_body, req, res) => {
      seen.push(req.headers)
      if (req.url === '/set') {
        res.setHeader('set-cookie', [
          '__Host-s=abc; Path=/; HttpOnly; Secure; SameSite=Strict',
          'lax=1; Path=/bff; SameSite=Lax; Max-Age=60',
          'gone=1; Path=/',
        ])
        res.writeHead(302, { location: '/clear' }).end()
      } else if (req.url === '/clear') {
        res.writeHead(303, { location: '/bff/end', 'set-cookie': 'gone=; Path=/; Max-Age=0' }).end()
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      }
    })
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => server.close())

  it('when a server sets and deletes cookies across redirects, then the jar keeps attributes and drops deleted ones', async () => {
    const browser = createBrowser()
    try {
      const hops = await browser.follow(`${origin}/set`)
      expect(hops.map((h) => h.status)).toEqual([302, 303, 200])
      expect(hops.at(-1)?.body).toBe('ok')
      expect(browser.cookie(origin, 'gone')).toBeUndefined()
      expect(browser.cookies(origin).map((c) => c.name).sort()).toEqual(['__Host-s', 'lax'])
      expect(browser.cookies(origin).find((c) => c.name === '__Host-s')).toMatchObject({
        value: 'abc', path: '/', httpOnly: true, secure: true, sameSite: 'Strict',
      })
      expect(browser.cookies(origin).find((c) => c.name === 'lax')).toMatchObject({ path: '/bff', maxAge: 60, httpOnly: false })
      // The Path=/bff cookie goes only under /bff; navigation headers by default.
      expect(seen.at(-1)).toMatchObject({ cookie: '__Host-s=abc; lax=1', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'same-origin' })
      await browser.get(`${origin}/other`, { xhr: true })
      expect(seen.at(-1)).toMatchObject({ cookie: '__Host-s=abc', accept: 'application/json' })
      expect(seen.at(-1)?.['sec-fetch-mode']).toBeUndefined()
    } finally {
      await browser.close()
    }
  })
})

type Handler = (body: string, req: IncomingMessage, res: ServerResponse) => void

async function listen(handler: Handler): Promise<Server> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      handler(body, req, res)
      if (!res.headersSent) res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
