import type { ApiRoute } from '../config/types.js'
import { BffError, sessionExpired } from '../errors.js'
import type { BrokerSession } from '../session/session.js'
import type { Grant } from '../session/grant-store.js'
import { audienceOf, tokenFor, type Audience } from './audience.js'
import { isExpired, needsRefresh, refreshJitter } from './expiry.js'
import { createGrantRefresher, type GrantRefresherDeps } from './grant-refresher.js'
import { lockOptionsFor, withLock, type LockOptions } from './lock.js'
import { backingOff, createRefreshBackoff, type RefreshBackoffOptions } from './refresh-backoff.js'
import { createSingleFlight } from './single-flight.js'
import { redisKeys } from '../session/keys.js'
import { createTokenExchanger } from './token-exchange.js'
import { activeTracer, inSpan } from '../observability/spans.js'

/**
 * Fresh-or-refresh access tokens for a user session's grant. Throws BffErrors: session_expired (invalid_grant, or
 * an expired token with no refresh token), idp_unavailable (a transient refresh failure; the session is kept) or,
 * on an `apis[].tokenExchange` route, exchange_refused (the provider refused the exchange; the grant is kept).
 */
export interface TokenManager {
  /** `prefetched`: the grant, already being read (in parallel with the session, one Redis round trip) */
  accessTokenFor(
    session: Pick<BrokerSession, 'grantId'>,
    route?: ApiRoute,
    prefetched?: Promise<Grant | undefined>,
  ): Promise<string>
}

export interface TokenManagerDeps extends Omit<GrantRefresherDeps, 'backoff'> {
  /** bounds of the per-grant pause after a transient refresh failure (default 1 s doubling up to 60 s, jittered) */
  backoff?: Pick<RefreshBackoffOptions, 'baseMs' | 'maxMs' | 'random'>
  /** the provider's token endpoint timeout; the refresh lock's lease and wait are derived from it (default 10 s) */
  providerTimeoutMs?: number
  /** explicit lock bounds, overriding the derived ones */
  lock?: Partial<LockOptions>
}

/**
 * One refresh per grant at a time, across every instance sharing the store (docs/architecture.md invariant 10):
 * single-flight
 * in the process, then the grant's lock in the store; under the lock the grant is re-read, so a refresh another
 * instance just finished is used rather than repeated. A fresh token costs one store read and one decryption.
 */
export function createTokenManager(deps: TokenManagerDeps): TokenManager {
  const flights = createSingleFlight()
  const backoff = createRefreshBackoff({ ...deps.backoff, store: deps.store, clock: deps.clock, prefix: deps.prefix })
  const refresher = createGrantRefresher({ ...deps, backoff })
  const keys = redisKeys(deps.prefix)
  const exchanger = createTokenExchanger({ ...deps, backoff, refresher })
  const lockOptions: LockOptions = {
    ...lockOptionsFor(deps.providerTimeoutMs ?? 10_000),
    onWait: (seconds, outcome) => deps.metrics.lockWaitSeconds.observe({ lock: 'grant', outcome }, seconds),
    ...deps.lock,
  }
  const tracer = activeTracer()

  /** While the grant is in backoff the provider is not asked and the lock not taken (checked again under it). */
  async function refresh(grantId: string, audience: Audience | undefined): Promise<string> {
    const state = await backoff.read(grantId)
    const now = deps.clock.now()
    if (state && state.untilMs > now) throw backingOff(state, now)
    const lockKey = keys.grantLock(grantId)
    // RFC 8693 routes exchange the grant's access token; the others refresh with the refresh token
    const exchange = audience?.exchange
    const work = audience && exchange
      ? () => exchanger.exchange(grantId, { ...audience, exchange })
      : () => refresher.refresh(grantId, audience)
    const attributes = {
      'bff.token.operation': exchange ? 'exchange' : 'refresh',
      ...(audience && { 'bff.api.route': audience.path }),
    }
    // one span for the wait on the grant's lock and the work under it (re-read, provider call, write back)
    return inSpan(tracer, 'token refresh', { attributes }, (span) => {
      const asked = performance.now()
      const underLock = () => {
        span?.setAttribute('bff.lock.wait_ms', Math.round(performance.now() - asked))
        return work()
      }
      return withLock(deps.store, lockKey, underLock, lockOptions)
    })
  }

  return {
    async accessTokenFor(session, route, prefetched) {
      const grant = await (prefetched ?? deps.grants.get(session.grantId))
      if (!grant) throw sessionExpired({ detail: 'grant not found' })
      const audience = audienceOf(route)
      const current = tokenFor(grant, audience)
      const jitter = refreshJitter(grant.id)
      const now = deps.clock.now()
      if (current && !needsRefresh(current.expiresAt, now, deps.refreshSkewSeconds, current.expiresIn, jitter)) {
        return current.accessToken
      }
      const flightKey = audience ? `${grant.id}\n${audience.path}` : grant.id
      try {
        return await flights.run(flightKey, () => refresh(grant.id, audience))
      } catch (err) {
        // invariant 9: the provider is out of reach (or the grant in backoff), but the token is only inside the
        // skew, not expired: serve it
        const transient = err instanceof BffError && err.code === 'idp_unavailable'
        if (transient && current && !isExpired(current.expiresAt, deps.clock.now())) return current.accessToken
        throw err
      }
    },
  }
}
