import type { TokenSet } from '../provider.js'

/**
 * Wire-format quirks of real token endpoints, as small pure functions. The openid-client adapter applies them
 * through its fetch hook, so openid-client still parses, validates and checks everything after them.
 */

/** Fields that are (or hold) tokens: never copied into `TokenSet.extra`, which may reach logs or claims. */
const tokenFields = new Set(['access_token', 'token_type', 'expires_in', 'refresh_token', 'id_token', 'scope'])
const isSecretField = (name: string) => tokenFields.has(name) || (/token/i.test(name) && !/expires_in$/i.test(name))

/**
 * Normalises a token endpoint JSON answer before openid-client reads it (RFC 6749 §5.1 as written is what
 * openid-client expects):
 * - `access_token_expires_in` stands in for an absent `expires_in` (Samsung Account);
 * - `refresh_token` of `-1`, `"-1"`, `""` or `null` means "none" (Samsung Account sends `-1`);
 * - `expires_in` as a numeric string becomes a number (a non-numeric one is left for openid-client to reject).
 * `token_type` case is handled by openid-client (it lower-cases, and rejects anything but bearer/DPoP).
 */
export function normaliseTokenResponse(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body }
  if (out.expires_in === undefined && out.access_token_expires_in !== undefined) {
    out.expires_in = out.access_token_expires_in
  }
  if (typeof out.expires_in === 'string' && /^\s*\d+\s*$/.test(out.expires_in)) {
    out.expires_in = Number(out.expires_in)
  }
  const rt = out.refresh_token
  if (rt === -1 || rt === '-1' || rt === '' || rt === null) delete out.refresh_token
  return out
}

/**
 * RFC 6749 §2.3.1 asks for form-encoded id and secret inside Basic; many servers (Spring, light-oauth2) compare
 * the raw decoded value instead. encodeURIComponent leaves the unreserved characters alone, so the usual
 * ids and secrets (UUIDs, base64url) reach both kinds of server unchanged, and a strict server still decodes
 * the rest. (openid-client's own encoder also escapes `-`, `_` and `.`, which breaks the non-decoding ones.)
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`
}

/** A form body as the JSON object Samsung Account's token endpoint takes (every value a string). */
export function formToJson(body: URLSearchParams): string {
  return JSON.stringify(Object.fromEntries(body.entries()))
}

/** The token endpoint answer, after openid-client has checked it, as the port's TokenSet. */
export function toTokenSet(
  body: Readonly<Record<string, unknown>>,
  idTokenClaims: Readonly<Record<string, unknown>> | undefined,
  nowSeconds: number,
): TokenSet {
  const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) ? body.expires_in : undefined
  const extra: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(body)) {
    if (!isSecretField(name) && typeof value !== 'function') extra[name] = value
  }
  const tokenType = String(body.token_type)
  const set: TokenSet = {
    accessToken: String(body.access_token),
    // RFC 6750 §2.1 spells the header scheme `Bearer`; openid-client hands us the lower-cased value
    tokenType: tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType,
  }
  if (expiresIn !== undefined) {
    set.expiresIn = expiresIn
    set.expiresAt = nowSeconds + Math.floor(expiresIn)
  }
  if (typeof body.refresh_token === 'string' && body.refresh_token !== '') set.refreshToken = body.refresh_token
  if (typeof body.id_token === 'string') set.idToken = body.id_token
  if (typeof body.scope === 'string') set.scope = body.scope
  if (idTokenClaims) set.idTokenClaims = Object.freeze({ ...idTokenClaims })
  if (Object.keys(extra).length > 0) set.extra = Object.freeze(extra)
  return set
}
