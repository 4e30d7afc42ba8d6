import { exchangeRefused, idpUnavailable, sessionExpired } from '../../../../src/errors.js'
import type { OAuthProvider, TokenExchangeOptions, TokenRequestOptions, TokenSet } from '../../../../src/oauth/provider.js'
import type { Clock } from '../../../../src/tokens/clock.js'

/**
 * A test double of OUR OAuthProvider port (not of any library): a small in-memory token endpoint that counts its
 * grants and behaves like a rotating provider (oidc-provider, docs/architecture.md "Dependency notes"): every
 * refresh token is single-use, and a
 * replayed one revokes the whole grant and answers invalid_grant (thrown as session_expired, as the real port does).
 */
export interface TokenEndpoint {
  provider: OAuthProvider
  /** a login: a new grant family with its first token set */
  issue(): TokenSet
  refreshCalls: number
  clientCredentialsCalls: number
  /** refresh requests in order, with the scope/resource they carried */
  requests: Array<{ refreshToken: string; options?: TokenRequestOptions }>
  replays: number
  /** RFC 8693 exchanges in order, with the subject token and what they asked for */
  exchanges: Array<{ subjectToken: string; options: TokenExchangeOptions }>
  /** the next exchanges are refused (exchange_refused, as the real port throws) */
  refuseExchanges(on: boolean): void
  /** the next refreshes (and client-credentials grants) fail like an unreachable provider */
  failTransiently(on: boolean): void
  /** runs while a refresh is in flight, after the refresh token was consumed and before the answer */
  duringRefresh?: () => Promise<void>
}

export interface TokenEndpointOptions {
  clock: Clock
  lifetimeSeconds?: number
  /** false: the provider keeps the refresh token (RFC 6749 §6 lets it) and omits it from the answer */
  rotate?: boolean
  delayMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function createTokenEndpoint(options: TokenEndpointOptions): TokenEndpoint {
  const lifetime = options.lifetimeSeconds ?? 300
  const rotate = options.rotate ?? true
  let serial = 0
  let transient = false
  let refusing = false
  // refresh token → its grant family and whether it was used already
  const refreshTokens = new Map<string, { family: number; used: boolean }>()
  const revoked = new Set<number>()

  const tokenSet = (prefix: string, extra: Partial<TokenSet> = {}): TokenSet => {
    serial++
    return {
      accessToken: `${prefix}-${serial}`,
      tokenType: 'Bearer',
      expiresAt: Math.floor(options.clock.now() / 1000) + lifetime,
      expiresIn: lifetime,
      ...extra,
    }
  }
  const newRefreshToken = (family: number) => {
    const token = `rt-${family}-${++serial}`
    refreshTokens.set(token, { family, used: false })
    return token
  }

  const endpoint: TokenEndpoint = {
    refreshCalls: 0,
    clientCredentialsCalls: 0,
    requests: [],
    replays: 0,
    exchanges: [],
    failTransiently: (on) => {
      transient = on
    },
    refuseExchanges: (on) => {
      refusing = on
    },
    issue() {
      const family = ++serial
      return tokenSet('at', { refreshToken: newRefreshToken(family), idToken: `id-${family}` })
    },
    provider: unusedProvider({
      async refresh(refreshToken, requestOptions) {
        endpoint.refreshCalls++
        endpoint.requests.push({ refreshToken, options: requestOptions })
        if (transient) throw idpUnavailable({ detail: 'test: provider unreachable' })
        const entry = refreshTokens.get(refreshToken)
        if (!entry || revoked.has(entry.family)) throw sessionExpired({ detail: 'test: invalid_grant' })
        if (entry.used) {
          // the replay of a rotated refresh token: the whole grant is revoked (OAuth 2.0 Security BCP §4.14.2)
          endpoint.replays++
          revoked.add(entry.family)
          throw sessionExpired({ detail: 'test: invalid_grant (replayed refresh token)' })
        }
        if (rotate) entry.used = true
        await endpoint.duringRefresh?.()
        if (options.delayMs) await sleep(options.delayMs)
        if (revoked.has(entry.family)) throw sessionExpired({ detail: 'test: invalid_grant' })
        const prefix = requestOptions?.resource || requestOptions?.scope ? 'api' : 'at'
        return tokenSet(prefix, rotate ? { refreshToken: newRefreshToken(entry.family) } : {})
      },
      async tokenExchange(subjectToken, exchangeOptions) {
        endpoint.exchanges.push({ subjectToken, options: exchangeOptions })
        if (transient) throw idpUnavailable({ detail: 'test: provider unreachable' })
        if (refusing) throw exchangeRefused({ detail: 'test: invalid_target' })
        if (options.delayMs) await sleep(options.delayMs)
        return tokenSet('ex')
      },
      async clientCredentials() {
        endpoint.clientCredentialsCalls++
        if (transient) throw idpUnavailable({ detail: 'test: provider unreachable' })
        if (options.delayMs) await sleep(options.delayMs)
        return tokenSet('cc')
      },
    }),
  }
  return endpoint
}

/** The rest of the port is not used by the tokens layer: calling it is a test bug. */
function unusedProvider(impl: Pick<OAuthProvider, 'refresh' | 'clientCredentials' | 'tokenExchange'>): OAuthProvider {
  const unused = (name: string) => () => {
    throw new Error(`token endpoint double: ${name} is not part of this test`)
  }
  return {
    isReady: () => true,
    ensureReady: async () => {},
    startLoading: () => {},
    stop: () => {},
    authorizationUrl: unused('authorizationUrl'),
    exchangeCode: unused('exchangeCode'),
    password: unused('password'),
    userinfo: unused('userinfo'),
    revoke: unused('revoke'),
    endSessionUrl: unused('endSessionUrl'),
    verifyLogoutToken: unused('verifyLogoutToken'),
    hasRevocation: () => false,
    ...impl,
  }
}
