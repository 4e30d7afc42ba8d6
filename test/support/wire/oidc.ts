import { createBrowser, type Browser } from '../browser.js'
import { createHmac, generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto'
import { authorizeAnswer, expectBasic, formBody, oauthError, startServer, type WireServer, type WireServerOptions } from './server.js'

/** A signing key of the test issuer: the private half signs, the public JWK is what the JWKS may publish. */
export interface TestSigningKey {
  kid: string
  privateKey: KeyObject
  jwk: JsonWebKey
}

export function signingKey(kid: string): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } }
}

/** RS256 compact JWS (RFC 7515 §7.1), signed synchronously so the wire handler can answer at once. */
export function signJwt(key: TestSigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${part({ alg: 'RS256', kid: key.kid, ...header })}.${part(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`
}

/** HS256 (RFC 7518 §3.2) with a shared secret, such as the client secret. */
export function signHs256(secret: string, payload: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${part({ alg: 'HS256' })}.${part(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** What the test changes between logins; every field is read at request time. */
export interface OidcIssuerState {
  /** signs the ID tokens (a foreign key, or the next one after a rotation) */
  signer: TestSigningKey
  /** what /jwks publishes */
  published: TestSigningKey[]
  /** merged over the ID token's valid claims (iss, aud, sub, nonce, iat, exp); `now` is the issuer's clock */
  idTokenClaims: (now: number) => Record<string, unknown>
  /** the `sub` of the userinfo answer */
  userinfoSub: string
  /** merged over the discovery document */
  metadata: Record<string, unknown>
  /** replaces the RS256 signature by `signer` (another algorithm) */
  mint?: (claims: Record<string, unknown>) => string
}

export interface OidcWireServer extends WireServer {
  issuer: string
  state: OidcIssuerState
  jwksFetches(): number
}

/**
 * A minimal OpenID provider on the wire (discovery, authorize, token, userinfo, JWKS) whose keys and ID token
 * claims the test holds, for what the real oidc-provider will not do: sign with a foreign key, rotate to a key it
 * never published, mint an old `iat`, answer userinfo about someone else.
 */
export async function startOidcWireServer(opts: WireServerOptions & { key: TestSigningKey }): Promise<OidcWireServer> {
  const state: OidcIssuerState = { signer: opts.key, published: [opts.key], idTokenClaims: () => ({}), userinfoSub: 'alice', metadata: {} }
  const server = await startServer(
    {
      tokenPath: '/token',
      handle(req, ctx) {
        const issuer = `http://${req.headers.host}`
        switch (req.path) {
          case '/.well-known/openid-configuration':
            return {
              status: 200,
              body: {
                issuer, jwks_uri: `${issuer}/jwks`, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
                userinfo_endpoint: `${issuer}/userinfo`, id_token_signing_alg_values_supported: ['RS256'],
                code_challenge_methods_supported: ['S256'], ...state.metadata,
              },
            }
          case '/jwks':
            return { status: 200, body: { keys: state.published.map((k) => k.jwk) } }
          case '/auth':
            return authorizeAnswer(req.query, ctx, 'code')
          // RFC 7009 §2.2: 200 whatever the token (published only when a test configures it)
          case '/revoke':
            formBody(req, ctx)
            return { status: 200 }
          case '/userinfo':
            return { status: 200, body: { sub: state.userinfoSub, preferred_username: `${state.userinfoSub}-name` } }
          case '/token': {
            const form = formBody(req, ctx)
            expectBasic(req, ctx)
            const code = ctx.redeemCode(form.get('code') ?? undefined, form.get('redirect_uri') ?? undefined, form.get('code_verifier') ?? undefined)
            if (!code) return oauthError('invalid_grant')
            const now = Math.floor(Date.now() / 1000)
            const claims = { iss: issuer, aud: ctx.opts.clientId, sub: 'alice', nonce: code.nonce, iat: now, exp: now + 300, ...state.idTokenClaims(now) }
            return ctx.ok({ access_token: ctx.token('at'), token_type: 'Bearer', expires_in: 300, id_token: state.mint ? state.mint(claims) : signJwt(state.signer, claims) })
          }
        }
        return undefined
      },
    },
    opts,
  )
  return { ...server, issuer: server.url.origin, state, jwksFetches: () => server.requests.filter((r) => r.path === '/jwks').length }
}

/**
 * Logs a new browser in at `brokerOrigin` through this issuer, whose next ID token carries `sid` (front- and
 * back-channel logout tests name sessions by it); throws when the callback does not end in a redirect.
 */
export async function loginWithSid(brokerOrigin: string, idp: OidcWireServer, sid: string): Promise<Browser> {
  idp.state.idTokenClaims = () => ({ sid })
  const b = createBrowser()
  const start = await b.get(`${brokerOrigin}/bff/login`)
  const authorize = await b.get(start.location!)
  const callback = await b.get(authorize.location!, { site: 'cross-site' })
  if (callback.status !== 302) throw new Error(`login with sid ${sid} answered ${callback.status}`)
  const user = await bffUser(brokerOrigin, b)
  if (user.status !== 200) throw new Error(`after the login with sid ${sid}, /bff/user answered ${user.status}`)
  return b
}

/** GET /bff/user as the SPA calls it (XHR, CSRF header) */
export const bffUser = (brokerOrigin: string, b: Browser) => b.get(`${brokerOrigin}/bff/user`, { xhr: true, headers: { 'x-csrf': '1' } })
