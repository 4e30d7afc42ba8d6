import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose'
import { BffError, idpUnavailable } from '../errors.js'
import { logoutTokenInvalid } from './errors.js'
import type { LogoutTokenClaims } from './provider.js'

const backchannelLogoutEvent = 'http://schemas.openid.net/event/backchannel-logout'

export interface LogoutTokenVerifierOptions {
  clientId: string
  /** bounds each JWKS fetch */
  timeoutMs: number
  fetch: typeof fetch
}

export interface LogoutTokenVerifier {
  /** Throws a BffError: 400 for a token that fails validation, 503 when the JWKS cannot be fetched. */
  verify(logoutToken: string, metadata: { issuer: string; jwks_uri?: string }): Promise<LogoutTokenClaims>
}

/** Back-channel logout token validation (OIDC Back-Channel Logout 1.0 §2.6) with jose, JWKS fetched once and cached. */
export function createLogoutTokenVerifier(opts: LogoutTokenVerifierOptions): LogoutTokenVerifier {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined

  async function verify(logoutToken: string, meta: { issuer: string; jwks_uri?: string }) {
    if (!meta.jwks_uri) throw logoutTokenInvalid('provider metadata has no jwks_uri')
    jwks ??= createRemoteJWKSet(new URL(meta.jwks_uri), {
      [customFetch]: (url, init) => opts.fetch(url, init as RequestInit),
      timeoutDuration: opts.timeoutMs,
    })
    try {
      const { payload } = await jwtVerify(logoutToken, jwks, {
        issuer: meta.issuer,
        audience: opts.clientId,
        requiredClaims: ['iat'],
        clockTolerance: 30,
      })
      return logoutClaims(payload)
    } catch (err) {
      if (err instanceof BffError) throw err
      const e = err as { code?: string; name?: string; message?: string }
      if (e.code === 'ERR_JWKS_TIMEOUT' || e.name === 'TypeError') throw idpUnavailable({ detail: `jwks: ${e.message}` })
      throw logoutTokenInvalid(`${e.code ?? e.name}: ${e.message}`)
    }
  }

  return { verify }
}

/** OIDC Back-Channel Logout 1.0 §2.6 steps 4–6 (signature, iss, aud and iat are jwtVerify's). */
function logoutClaims(payload: JWTPayload): LogoutTokenClaims {
  const events = payload.events as Record<string, unknown> | undefined
  if (!events || typeof events !== 'object' || !(backchannelLogoutEvent in events)) {
    throw logoutTokenInvalid('events claim lacks the back-channel logout event')
  }
  if (payload.nonce !== undefined) throw logoutTokenInvalid('a logout token must not carry a nonce')
  const sub = typeof payload.sub === 'string' ? payload.sub : undefined
  const sid = typeof payload.sid === 'string' ? payload.sid : undefined
  if (!sub && !sid) throw logoutTokenInvalid('neither sub nor sid')
  const claims: LogoutTokenClaims = {}
  if (sub) claims.sub = sub
  if (sid) claims.sid = sid
  return claims
}
