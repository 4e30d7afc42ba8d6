import type { ApiRoute } from '../config/types.js'
import type { TokenExchangeOptions, TokenSet } from '../oauth/provider.js'
import type { ApiToken, Grant } from '../session/grant-store.js'

/**
 * The audience of a per-API token: a route that names `scopes` or a `resource` gets its own token, obtained with
 * the grant's refresh token and those parameters (RFC 6749 §6 `scope`, RFC 8707 §2.2 `resource`), cached in the grant
 * under the route's path.
 */
export interface Audience {
  path: string
  scope?: readonly string[]
  resource?: string
  /** RFC 8693: obtained by exchanging the grant's access token (`apis[].tokenExchange`), not with the refresh token */
  exchange?: TokenExchangeOptions
}

export function audienceOf(route: ApiRoute | undefined): Audience | undefined {
  if (route?.tokenExchange) return { path: route.path, exchange: route.tokenExchange }
  if (!route || (!route.scopes?.length && !route.resource)) return undefined
  return { path: route.path, scope: route.scopes?.length ? route.scopes : undefined, resource: route.resource }
}

/** A per-API token as cached in the grant; `expiresIn` (seconds) lets the skew be capped at half its lifetime. */
export type CachedApiToken = ApiToken & { expiresIn?: number }

/** A token answer as cached under an audience: the access token and its lifetime, nothing else. */
export function cachedApiToken(answer: TokenSet): CachedApiToken {
  return { accessToken: answer.accessToken, expiresAt: answer.expiresAt, expiresIn: answer.expiresIn }
}

/** What the expiry checks need of a token, whichever kind it is. `expiresAt` is epoch seconds. */
export interface TokenView {
  accessToken: string
  expiresAt?: number
  expiresIn?: number
}

/** The token for an audience, or the grant's own access token without one. */
export function tokenFor(grant: Grant, audience: Audience | undefined): TokenView | undefined {
  if (!audience) return grant.tokens
  return grant.apiTokens[audience.path] as CachedApiToken | undefined
}
