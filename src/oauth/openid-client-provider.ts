import * as oidc from 'openid-client'
import type { ProviderConfig } from '../config/types.js'
import { notFound } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import { toTokenSet } from './dialects/wire.js'
import { clientAuthFor, createWireFetch } from './dialects/wire-fetch.js'
import { translateOAuthError, type OAuthContext } from './errors.js'
import { idTokenCheckFailed, issuedAtProblem } from './id-token-checks.js'
import { createLogoutTokenVerifier } from './logout-token.js'
import { createMetadataLoader } from './metadata-loader.js'
import { providerEndpointOf, traceProviderFetch } from './provider-spans.js'
import { clockSkewSeconds, clockSkewWarnSeconds, metadataProblem } from './metadata-checks.js'
import { LogEvents } from '../observability/log-events.js'
import type { OAuthProvider, TokenExchangeOptions, TokenRequestOptions, TokenSet } from './provider.js'

export interface OpenIdClientProviderDeps {
  config: ProviderConfig
  logger: Logger
  /**
   * fault-injection hook (docs/architecture.md "Dependency notes"), used as openid-client's customFetch and for the
   * JWKS
   */
  fetch?: typeof fetch
  /** http:// issuers and endpoints (loopback tests, the demo): openid-client's allowInsecureRequests */
  allowInsecureHttp?: boolean
  /** milliseconds since the epoch, like Date.now (the default) */
  now?: () => number
}

/**
 * The OAuthProvider port over openid-client 6. Every quirk is declarative (ProviderConfig, filled by a dialect
 * preset); the wire-level ones are applied in the fetch hook so openid-client still validates every answer.
 */
export function createOpenIdClientProvider(deps: OpenIdClientProviderDeps): OAuthProvider {
  const { config, logger } = deps
  const nowMs = () => (deps.now ?? Date.now)()
  const nowSeconds = () => Math.floor(nowMs() / 1000)
  const provider = config.dialect ?? (config.issuer ?? config.tokenEndpoint ?? config.baseUrl)?.host ?? 'provider'
  const fail = (err: unknown, context: OAuthContext) => translateOAuthError(err, context, { logger, provider })

  // every answer of the provider (discovery, JWKS, token …) tells its clock; a skew past the ID token checks'
  // tolerance makes logins fail with "iat in the future" or "expired", so say it once, with the number
  let skewLogged = false
  const noteClock = (res: Response) => {
    const skewSeconds = skewLogged ? undefined : clockSkewSeconds(res.headers.get('date'), nowMs())
    if (skewSeconds !== undefined && Math.abs(skewSeconds) > clockSkewWarnSeconds) {
      skewLogged = true
      const event = LogEvents.providerClockSkew
      logger.warn({ event, provider, skewSeconds }, `provider ${provider} clock differs from ours by ${skewSeconds} s`)
    }
    return res
  }
  const providerFetch = deps.fetch ?? globalThis.fetch
  // tracing on: a client span per provider request (discovery, JWKS, token, userinfo, revocation)
  const endpointOf = providerEndpointOf(() => loader.current()?.serverMetadata())
  const baseFetch = traceProviderFetch((input, init) => providerFetch(input, init).then(noteClock), endpointOf)

  const tokenEndpoint = () => loader.current()?.serverMetadata().token_endpoint
  const wireFetch = createWireFetch(baseFetch, config, tokenEndpoint) as oidc.CustomFetch
  const clientAuth = clientAuthFor(config) as oidc.ClientAuth

  // explicit endpoints always win over discovered ones (README "Provider dialects")
  const explicitMetadata = (): Partial<oidc.ServerMetadata> => {
    const m: { -readonly [K in keyof oidc.ServerMetadata]?: oidc.ServerMetadata[K] } = {}
    if (config.authorizationEndpoint) m.authorization_endpoint = config.authorizationEndpoint.href
    if (config.tokenEndpoint) m.token_endpoint = config.tokenEndpoint.href
    if (config.userinfoEndpoint) m.userinfo_endpoint = config.userinfoEndpoint.href
    if (config.revocationEndpoint) m.revocation_endpoint = config.revocationEndpoint.href
    if (config.endSessionEndpoint) m.end_session_endpoint = config.endSessionEndpoint.href
    return m
  }

  const build = (metadata: oidc.ServerMetadata) => {
    const c = new oidc.Configuration(metadata, config.clientId, { client_secret: config.clientSecret }, clientAuth)
    c[oidc.customFetch] = wireFetch
    c.timeout = Math.max(1, Math.ceil(config.timeoutMs / 1000))
    if (deps.allowInsecureHttp) oidc.allowInsecureRequests(c)
    // invariant 4 / OIDC Core §3.1.3.7 step 6: openid-client skips the ID token's JWS signature unless told; with
    // this it verifies it against jwks_uri (asymmetric algorithms only, HS* and none refused), caching the JWKS
    // and refetching it once for an unknown kid when the cached copy is a minute old (oauth4webapi)
    if (config.issuer) oidc.enableNonRepudiationChecks(c)
    return c
  }

  const discover = async () => {
    if (!config.issuer) {
      // plain OAuth 2 server: no discovery, no issuer; the base (or token endpoint origin) stands in for `iss` checks
      const issuer = (config.baseUrl ?? config.tokenEndpoint ?? config.authorizationEndpoint)?.href ?? 'urn:bff:unknown'
      return build({ issuer, ...explicitMetadata() })
    }
    const found = await oidc.discovery(config.issuer, config.clientId, config.clientSecret, clientAuth, {
      [oidc.customFetch]: (url, init) => baseFetch(url, init as RequestInit),
      execute: deps.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
      timeout: Math.max(1, Math.ceil(config.timeoutMs / 1000)),
    })
    return build({ ...found.serverMetadata(), ...explicitMetadata() })
  }

  const loader = createMetadataLoader({
    discover, logger, provider,
    check: (c) => {
      const problem = metadataProblem(c.serverMetadata(), { pkce: config.pkce })
      if (!problem && !c.serverMetadata().revocation_endpoint) {
        // said once, when the metadata is in: without RFC 7009 logout ends only the broker's side of a login
        logger.warn(
          { event: LogEvents.providerNoRevocation, provider },
          `provider ${provider} has no revocation endpoint: logout revokes nothing at the provider, and a refresh token outlives the logout until it expires there`,
        )
      }
      return problem
    },
  })
  const logoutTokens = createLogoutTokenVerifier({ clientId: config.clientId, timeoutMs: config.timeoutMs, fetch: baseFetch })

  const ready = async (): Promise<oidc.Configuration> => {
    try {
      return await loader.load()
    } catch (err) {
      throw fail(err, 'metadata')
    }
  }

  const scopeParam = (scopes: readonly string[] | undefined, params: Record<string, string>) => {
    if (scopes && scopes.length > 0) params.scope = scopes.join(config.scopeSeparator)
    return params
  }

  const grant = async (context: OAuthContext, run: (c: oidc.Configuration) => Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>): Promise<TokenSet> => {
    const c = await ready()
    try {
      const answer = await run(c)
      // at login only: on refresh the rotated refresh token in this very answer must not be thrown away over an
      // ID token that some providers hand back unchanged (OIDC Core §12.2 wants a new one, not all comply)
      if (answer.id_token && (context === 'callback' || context === 'password')) {
        const problem = issuedAtProblem(answer.claims(), nowSeconds(), config.idTokenIssuedWithinSeconds)
        if (problem) throw idTokenCheckFailed(problem)
      }
      return toTokenSet(answer as unknown as Record<string, unknown>, answer.claims(), nowSeconds())
    } catch (err) {
      throw fail(err, context)
    }
  }

  const tokenOptions = (options: TokenRequestOptions | undefined) => {
    const params = scopeParam(options?.scope, {})
    // RFC 8707 §2: the resource the access token is meant for
    if (options?.resource) params.resource = options.resource
    return params
  }

  // RFC 8693 §2.1: the user's access token as subject, an access token wanted back
  const exchangeParams = (subjectToken: string, options: TokenExchangeOptions) => {
    const params = scopeParam(options.scope, {
      subject_token: subjectToken,
      subject_token_type: accessTokenType,
      requested_token_type: accessTokenType,
    })
    if (options.audience) params.audience = options.audience
    return params
  }

  return {
    isReady: () => loader.current() !== undefined,
    ensureReady: async () => {
      await ready()
    },
    startLoading: loader.startLoading,
    stop: loader.stop,

    async authorizationUrl(request) {
      const c = await ready()
      // extras first: they may add parameters (prompt, audience …) but never replace the protocol ones
      const params: Record<string, string> = { ...config.authorizationParams }
      params.response_type = config.responseType
      params.redirect_uri = request.redirectUri
      params.state = request.state
      scopeParam(request.offline && !config.scopes.includes('offline_access') ? [...config.scopes, 'offline_access'] : config.scopes, params)
      if (request.offline) params.prompt = 'consent'
      if (config.pkce) {
        // RFC 7636 §4.3: S256 only, never plain
        params.code_challenge = request.codeChallenge
        params.code_challenge_method = 'S256'
      }
      if (request.nonce) params.nonce = request.nonce
      return oidc.buildAuthorizationUrl(c, params)
    },

    exchangeCode(callbackUrl, checks, redirectUri) {
      return grant('callback', (c) => {
        // RFC 6749 §4.1.3: redirect_uri must be the one the authorization request carried, whatever host we sit behind
        const current = new URL(redirectUri)
        for (const [k, v] of callbackUrl.searchParams) current.searchParams.append(k, v)
        return oidc.authorizationCodeGrant(c, current, {
          expectedState: checks.state,
          pkceCodeVerifier: config.pkce ? checks.codeVerifier : undefined,
          expectedNonce: checks.nonce,
          idTokenExpected: checks.nonce !== undefined,
        })
      })
    },

    refresh: (refreshToken, options) =>
      grant('refresh', (c) => oidc.refreshTokenGrant(c, refreshToken, tokenOptions(options))),

    clientCredentials: (options) =>
      grant('client_credentials', (c) => oidc.clientCredentialsGrant(c, tokenOptions(options))),

    // the client authentication and wire quirks of every token request apply (the same Configuration and fetch hook)
    tokenExchange: (subjectToken, options) =>
      grant('token_exchange', (c) => oidc.genericGrantRequest(c, tokenExchangeGrant, exchangeParams(subjectToken, options))),

    async password(username, password) {
      // RFC 6749 §4.3 is legacy (OAuth 2.0 Security BCP §2.4): only when the operator turned it on
      if (!config.passwordGrant) throw notFound({ detail: 'password grant disabled (provider.passwordGrant)' })
      return grant('password', (c) =>
        oidc.genericGrantRequest(c, 'password', scopeParam(config.scopes, { username, password })))
    },

    async userinfo(accessToken, expectedSubject, opts) {
      const c = await ready()
      const endpoint = c.serverMetadata().userinfo_endpoint
      if (!endpoint) return undefined
      try {
        if (config.issuer) {
          // OIDC Core §5.3.2: the answer's sub must be the ID token's, when the caller knows it
          return await oidc.fetchUserInfo(c, accessToken, expectedSubject ?? oidc.skipSubjectCheck)
        }
        return await plainUserinfo(c, new URL(endpoint), accessToken)
      } catch (err) {
        throw fail(err, opts?.profileOnly ? 'profile' : 'userinfo')
      }
    },

    async revoke(token, hint) {
      const c = await ready()
      if (!c.serverMetadata().revocation_endpoint) return
      try {
        await oidc.tokenRevocation(c, token, { token_type_hint: hint })
      } catch (err) {
        throw fail(err, 'revoke')
      }
    },

    async endSessionUrl(request) {
      const c = await ready()
      if (!c.serverMetadata().end_session_endpoint) return undefined
      // extras first (e.g. `state`: Glewlwyd ignores post_logout_redirect_uri without it); the config check keeps
      // them off the broker's own parameters. The endpoint's own query is kept (RFC 6749 §3.1)
      const params: Record<string, string> = { ...config.endSessionParams, post_logout_redirect_uri: request.postLogoutRedirectUri }
      // OIDC RP-Initiated Logout 1.0 §2: id_token_hint, or client_id when the operator keeps ID tokens out of URLs
      if (request.idTokenHint && config.logoutIdTokenHint) params.id_token_hint = request.idTokenHint
      else params.client_id = config.clientId
      return oidc.buildEndSessionUrl(c, params)
    },

    verifyLogoutToken: async (logoutToken) => logoutTokens.verify(logoutToken, (await ready()).serverMetadata()),

    hasRevocation: () => {
      const configuration = loader.current()
      return configuration ? Boolean(configuration.serverMetadata().revocation_endpoint) : Boolean(config.revocationEndpoint)
    },
  }
}

const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange'
const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token'

/** A plain OAuth 2 identity endpoint (Breakout `GET /me/`): any JSON object, read with the Bearer token. */
async function plainUserinfo(c: oidc.Configuration, url: URL, accessToken: string): Promise<Record<string, unknown>> {
  const res = await oidc.fetchProtectedResource(c, accessToken, url, 'GET', undefined, new Headers({ accept: 'application/json' }))
  if (!res.ok) {
    await res.body?.cancel()
    throw Object.assign(new Error(`identity endpoint answered HTTP ${res.status}`), {
      code: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
      cause: { status: res.status },
    })
  }
  const body: unknown = await res.json().catch(() => undefined)
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw Object.assign(new Error('identity endpoint answer is not a JSON object'), { code: 'OAUTH_INVALID_RESPONSE' })
  }
  return body as Record<string, unknown>
}
