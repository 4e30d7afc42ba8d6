import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeProvider, providerConfig } from './fixtures.js'

// A minimal issuer (discovery + JWKS) whose signing key the test holds, to mint back-channel logout tokens.
let server: Server
let issuer: string
let key: CryptoKey
let otherKey: CryptoKey
const event = { 'http://schemas.openid.net/event/backchannel-logout': {} }

beforeAll(async () => {
  ;({ privateKey: otherKey } = await generateKeyPair('RS256'))
  const pair = await generateKeyPair('RS256', { extractable: true })
  key = pair.privateKey
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token`, authorization_endpoint: `${issuer}/auth` }))
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: [jwk] }))
    } else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

// the claims given replace the valid defaults (iss, aud, events)
const mint = (claims: JWTPayload, signWith = key, header: { typ?: string } = { typ: 'logout+jwt' }) =>
  new SignJWT({ iss: issuer, aud: 'bff', events: event, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header })
    .setIssuedAt()
    .setExpirationTime('2m')
    .setJti(crypto.randomUUID())
    .sign(signWith)
// a token without one of the claims jose's helpers always set
const mintWithout = (claim: 'exp' | 'jti') => {
  const now = Math.floor(Date.now() / 1000)
  const claims: JWTPayload = { iss: issuer, aud: 'bff', events: event, sid: 's', iat: now, exp: now + 120, jti: crypto.randomUUID() }
  delete claims[claim]
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt' }).sign(key)
}

const provider = (fetchHook?: typeof fetch) =>
  makeProvider(providerConfig({ issuer: new URL(issuer), clientId: 'bff', clientSecret: 's' }), fetchHook ? { fetch: fetchHook } : {}).provider

describe('verifyLogoutToken (OIDC Back-Channel Logout 1.0 §2.6)', () => {
  it('when the token is valid, then sid and sub come back, with the JWKS fetched through the fetch hook', async () => {
    const seen: string[] = []
    const hook: typeof fetch = (input, init) => {
      seen.push(String(input))
      return fetch(input, init)
    }
    const claims = await provider(hook).verifyLogoutToken(await mint({ sub: 'alice', sid: 'sid-1' }))
    expect(claims).toEqual({ sub: 'alice', sid: 'sid-1', jti: expect.any(String), exp: expect.any(Number) })
    expect(seen).toContain(`${issuer}/jwks`)
  })

  it.each([
    ['the audience is another client', () => mint({ sid: 's', aud: 'someone-else' })],
    ['the events claim is missing', () => new SignJWT({ sid: 's' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience('bff').setIssuedAt().sign(key)],
    ['it carries a nonce', () => mint({ sid: 's', nonce: 'n' })],
    ['it names neither sub nor sid', () => mint({})],
    ['another key signed it', () => mint({ sid: 's' }, otherKey)],
    ['the issuer differs', () => mint({ sid: 's', iss: 'https://evil.example' })],
    ['it has no iat', () => new SignJWT({ sid: 's', events: event }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience('bff').sign(key)],
    ['it is not a JWT', async () => 'not-a-jwt'],
    ['its typ header names another type (an ID token)', () => mint({ sid: 's' }, key, { typ: 'JWT' })],
    ['it has no exp (§2.4, REQUIRED since 1.0 final)', () => mintWithout('exp')],
    ['it has no jti (§2.4, REQUIRED)', () => mintWithout('jti')],
  ])('when %s, then it is refused with invalid_request', async (_, token) => {
    await expect(provider().verifyLogoutToken(await token())).rejects.toMatchObject({ status: 400, code: 'invalid_request' })
  })
})

describe('logout token typing (§2.4: explicit typing RECOMMENDED, not required)', () => {
  it.each([
    ['no typ header', {}],
    ['typ logout+jwt', { typ: 'logout+jwt' }],
    ['typ application/logout+jwt (RFC 7515 §4.1.9)', { typ: 'application/logout+jwt' }],
  ])('when the token has %s, then it is accepted', async (_, header) => {
    await expect(provider().verifyLogoutToken(await mint({ sid: 's' }, key, header))).resolves.toMatchObject({ sid: 's' })
  })
})
