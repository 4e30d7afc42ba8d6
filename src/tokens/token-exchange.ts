import { BffError, sessionExpired } from '../errors.js'
import type { TokenExchangeOptions, TokenSet } from '../oauth/provider.js'
import { LogEvents } from '../observability/log-events.js'
import type { Grant } from '../session/grant-store.js'
import { cachedApiToken, tokenFor, type Audience } from './audience.js'
import { needsRefresh, refreshJitter } from './expiry.js'
import type { GrantRefresher, GrantRefresherDeps } from './grant-refresher.js'
import { writeUnlessNewer } from './grant-write.js'
import { backingOff, type BackoffState } from './refresh-backoff.js'
import { createRotationGrace } from './rotation-grace.js'

export type ExchangeAudience = Audience & { exchange: TokenExchangeOptions }

/** the refresher's own dependencies (an offline grant's idle TTL included: an exchange write-back must keep it) */
export interface TokenExchangerDeps extends Pick<
  GrantRefresherDeps,
  'grants' | 'store' | 'provider' | 'clock' | 'prefix' | 'refreshSkewSeconds' | 'grantTtlMs' | 'offlineGrantIdleMs' | 'logger' | 'backoff'
> {
  /** refreshes the grant's own access token; called under the lock the exchange already holds */
  refresher: GrantRefresher
}

/** The work done while holding a grant's lock for an `apis[].tokenExchange` route: re-read, exchange, write back. */
export interface TokenExchanger {
  exchange(grantId: string, audience: ExchangeAudience): Promise<string>
}

/**
 * RFC 8693 token exchange of the grant's access token for a token for one API, cached in the grant under the
 * route's path like the per-API tokens of `scopes`/`resource`. Runs under the grant's lock, as a refresh does, so
 * one exchange per (grant, route) happens at a time across every instance.
 */
export function createTokenExchanger(deps: TokenExchangerDeps): TokenExchanger {
  const { clock, logger } = deps
  const grace = createRotationGrace({ store: deps.store, grants: deps.grants, prefix: deps.prefix })
  const stale = (grant: Grant, token: { expiresAt?: number; expiresIn?: number }) =>
    needsRefresh(token.expiresAt, clock.now(), deps.refreshSkewSeconds, token.expiresIn, refreshJitter(grant.id))

  const current = async (grantId: string): Promise<Grant> => {
    const grant = await grace.readCurrent(grantId)
    if (!grant) throw sessionExpired({ detail: 'grant not found' })
    return grant
  }

  async function callProvider(grant: Grant, subjectToken: string, audience: ExchangeAudience, backoff?: BackoffState): Promise<TokenSet> {
    const fields = { grantVersion: grant.version, route: audience.path }
    try {
      const answer = await deps.provider.tokenExchange(subjectToken, audience.exchange)
      logger.info({ event: LogEvents.tokenExchanged, ...fields }, 'token exchanged')
      return answer
    } catch (err) {
      const code = err instanceof BffError ? err.code : 'server_error'
      const detail = err instanceof BffError ? err.detail : undefined
      logger.warn({ event: LogEvents.tokenExchangeFailed, ...fields, code, detail }, 'token exchange failed')
      // the provider is out of reach: the grant backs off as after a failed refresh (same provider, same pause)
      if (code === 'idp_unavailable') throw backingOff(await deps.backoff.failed(grant.id, backoff), clock.now(), err)
      throw err
    }
  }

  return {
    async exchange(grantId, audience) {
      let grant = await current(grantId)
      const cached = tokenFor(grant, audience)
      // another request or instance exchanged while this one waited for the lock
      if (cached && !stale(grant, cached)) return cached.accessToken
      const backoff = await deps.backoff.read(grantId)
      if (backoff && backoff.untilMs > clock.now()) throw backingOff(backoff, clock.now())
      // RFC 8693 §2.1: the subject token must be one the provider still accepts: refreshed first when stale, by
      // the refresh path itself (invalid_grant there ends the grant, as on any route)
      if (stale(grant, grant.tokens)) {
        await deps.refresher.refresh(grantId)
        grant = await current(grantId)
      }
      const answer = await callProvider(grant, grant.tokens.accessToken, audience, backoff)
      const next: Grant = {
        ...grant,
        version: grant.version + 1,
        apiTokens: { ...grant.apiTokens, [audience.path]: cachedApiToken(answer) },
      }
      await writeUnlessNewer(deps, next)
      if (backoff) await deps.backoff.clear(grantId).catch(() => undefined)
      return answer.accessToken
    },
  }
}
