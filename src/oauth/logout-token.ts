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
      // §2.6 step 3: iss, aud, iat and exp as for ID tokens; §2.4 makes exp and jti REQUIRED (1.0 final)
      const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, {
        issuer: meta.issuer,
        audience: opts.clientId,
        requiredClaims: ['iat', 'exp', 'jti'],
        clockTolerance: 30,
      })
      checkType(protectedHeader.typ)
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

/**
 * §2.4: explicit typing with `logout+jwt` is RECOMMENDED, so a token without `typ` passes; one that says it is
 * something else (an ID token, `JWT`) is refused, so no other JWT of the provider's can be posted as a logout
 * token (§4.1 Cross-JWT Confusion). RFC 7515 §4.1.9: the `application/` prefix may be left out, case-insensitive.
 */
function checkType(typ: string | undefined): void {
  if (typ === undefined) return
  const type = typ.toLowerCase().replace(/^application\//, '')
  if (type !== 'logout+jwt') throw logoutTokenInvalid(`typ header is ${JSON.stringify(typ)}, not logout+jwt`)
}

/** OIDC Back-Channel Logout 1.0 §2.6 steps 4–6 (signature, iss, aud, iat and exp are jwtVerify's). */
function logoutClaims(payload: JWTPayload): LogoutTokenClaims {
  const events = payload.events as Record<string, unknown> | undefined
  if (!events || typeof events !== 'object' || !(backchannelLogoutEvent in events)) {
    throw logoutTokenInvalid('events claim lacks the back-channel logout event')
  }
  if (payload.nonce !== undefined) throw logoutTokenInvalid('a logout token must not carry a nonce')
  const sub = typeof payload.sub === 'string' ? payload.sub : undefined
  const sid = typeof payload.sid === 'string' ? payload.sid : undefined
  if (!sub && !sid) throw logoutTokenInvalid('neither sub nor sid')
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw logoutTokenInvalid('jti is not a string')
  const claims: LogoutTokenClaims = { jti: payload.jti, exp: payload.exp as number }
  if (sub) claims.sub = sub
  if (sid) claims.sid = sid
  return claims
}
