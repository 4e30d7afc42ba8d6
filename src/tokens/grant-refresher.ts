import { BffError, sessionExpired } from '../errors.js'
import type { OAuthProvider, TokenSet } from '../oauth/provider.js'
import { LogEvents } from '../observability/log-events.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import type { Grant, GrantStore } from '../session/grant-store.js'
import type { KeyValueStore } from '../session/store.js'
import { cachedApiToken, tokenFor, type Audience } from './audience.js'
import type { Clock } from './clock.js'
import { isExpired, needsRefresh, refreshJitter } from './expiry.js'
import { backingOff, type BackoffState, type RefreshBackoff } from './refresh-backoff.js'
import { writeUnlessNewer } from './grant-write.js'
import { createRotationGrace } from './rotation-grace.js'

export interface GrantRefresherDeps {
  grants: GrantStore
  store: KeyValueStore
  provider: OAuthProvider
  clock: Clock
  prefix: string
  refreshSkewSeconds: number
  /** lifetime of a grant from its creation (the session's absolute timeout) */
  grantTtlMs: number
  /** an offline grant lives this long after its last use (jobs.offlineGrantIdleSeconds) */
  offlineGrantIdleMs?: number
  logger: Logger
  metrics: Metrics
  /** the per-grant pause after a transient failure, shared by every instance */
  backoff: RefreshBackoff
  /** a store error that means "not now" (a failover): the write-back of a refresh is retried on it */
  isStoreError?: (err: unknown) => boolean
  /** how long the write-back of a refresh the provider answered is retried through a store outage (default 5 s) */
  saveRetryMs?: number
}

/** The work done while holding a grant's lock: re-read, refresh when still stale, write back. */
export interface GrantRefresher {
  refresh(grantId: string, audience?: Audience): Promise<string>
}

export function createGrantRefresher(deps: GrantRefresherDeps): GrantRefresher {
  const { grants, clock, logger, metrics } = deps
  const grace = createRotationGrace({
    store: deps.store, grants, prefix: deps.prefix,
    onHit: (outcome) => metrics.rotationGraceHits.inc({ outcome }),
  })

  async function callProvider(
    grant: Grant,
    refreshToken: string,
    audience: Audience | undefined,
    backoff: BackoffState | undefined,
  ): Promise<TokenSet> {
    const fields = { grantVersion: grant.version, route: audience?.path }
    const options = audience ? { scope: audience.scope, resource: audience.resource } : undefined
    try {
      const answer = await deps.provider.refresh(refreshToken, options)
      metrics.tokenRefreshes.inc({ outcome: 'ok' })
      const rotated = answer.refreshToken !== undefined && answer.refreshToken !== refreshToken
      logger.info({ event: LogEvents.tokenRefreshed, ...fields, rotated }, 'token refreshed')
      return answer
    } catch (err) {
      const code = err instanceof BffError ? err.code : 'server_error'
      metrics.tokenRefreshes.inc({ outcome: refreshOutcomeOf(code) })
      const detail = err instanceof BffError ? err.detail : undefined
      logger.warn({ event: LogEvents.tokenRefreshFailed, ...fields, code, detail }, 'token refresh failed')
      // RFC 6749 §5.2 invalid_grant: the refresh token is dead for good, and the grant goes with it (invariant 9)
      if (code === 'session_expired') await grants.delete(grant.id)
      if (code === 'idp_unavailable') {
        const next = await deps.backoff.failed(grant.id, backoff)
        const backoffFields = { event: LogEvents.tokenRefreshBackoff, failures: next.failures, untilMs: next.untilMs }
        logger.warn(backoffFields, 'token refresh backing off')
        throw backingOff(next, clock.now(), err)
      }
      throw err
    }
  }

  /** Writes `next` unless the grant changed meanwhile; never replaces a newer version with an older one. */
  async function save(next: Grant, usedRefreshToken: string): Promise<void> {
    // recorded before the grant: should the grant write fail, readers answer 503 rather than replay the used token
    if (next.tokens.refreshToken !== usedRefreshToken) await grace.record(next.id, usedRefreshToken, next.version)
    await writeUnlessNewer(deps, next)
  }

  /**
   * The provider has answered, and a rotating one has already retired the refresh token just used: the new one
   * exists only in this process until the write lands. A store outage (a primary failover) is therefore waited out,
   * for a bounded time, rather than answered at once with 503 and the tokens dropped, which would leave the grant
   * with a dead refresh token (RFC 6749 §10.4) and log the user out on the next refresh.
   */
  async function saveThroughOutage(next: Grant, usedRefreshToken: string): Promise<void> {
    // wall time, as the lock it runs under: a test clock may stand still
    const deadline = Date.now() + (deps.saveRetryMs ?? 5000)
    for (let attempt = 0; ; attempt++) {
      try {
        return await save(next, usedRefreshToken)
      } catch (err) {
        if (!deps.isStoreError?.(err) || Date.now() >= deadline) throw err
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 500)))
      }
    }
  }

  return {
    async refresh(grantId, audience) {
      const grant = await grace.readCurrent(grantId)
      if (!grant) throw sessionExpired({ detail: 'grant not found' })
      const current = tokenFor(grant, audience)
      const now = clock.now()
      const jitter = refreshJitter(grantId)
      // another request or instance refreshed while this one waited for the lock
      if (current && !needsRefresh(current.expiresAt, now, deps.refreshSkewSeconds, current.expiresIn, jitter)) {
        return current.accessToken
      }
      const refreshToken = grant.tokens.refreshToken
      if (!refreshToken) {
        if (current && !isExpired(current.expiresAt, now)) return current.accessToken
        await grants.delete(grantId)
        const detail = audience ? 'no refresh token for a per-API token' : 'access token expired, no refresh token'
        throw sessionExpired({ detail })
      }
      // the refresh of another instance failed while this one waited for the lock: hold back as well
      const backoff = await deps.backoff.read(grantId)
      if (backoff && backoff.untilMs > now) throw backingOff(backoff, now)
      const answer = await callProvider(grant, refreshToken, audience, backoff)
      // the rotated refresh token is saved first: a failed clear only leaves a lapsed backoff behind
      await saveThroughOutage(nextGrant(grant, answer, audience), refreshToken)
      if (backoff) await deps.backoff.clear(grantId).catch(() => undefined)
      return answer.accessToken
    },
  }
}

/** RFC 6749 §5.2 invalid_grant ends the grant; an unreachable provider is transient (503, the session stays) */
function refreshOutcomeOf(code: string): 'invalid_grant' | 'transient' | 'error' {
  if (code === 'session_expired') return 'invalid_grant'
  if (code === 'idp_unavailable') return 'transient'
  return 'error'
}

function nextGrant(grant: Grant, answer: TokenSet, audience: Audience | undefined): Grant {
  // RFC 6749 §6: the provider MAY issue a new refresh token; without one the one just used stays valid.
  // A rotating provider may do so on a per-API refresh too: it becomes the grant's only refresh token.
  const refreshToken = answer.refreshToken ?? grant.tokens.refreshToken
  const version = grant.version + 1
  if (audience) {
    return {
      ...grant,
      version,
      tokens: { ...grant.tokens, refreshToken },
      apiTokens: { ...grant.apiTokens, [audience.path]: cachedApiToken(answer) },
    }
  }
  const tokens: TokenSet = {
    ...answer,
    refreshToken,
    // OIDC Core §12.2: a refresh response may omit the ID token; the login's one is still the end-session hint
    idToken: answer.idToken ?? grant.tokens.idToken,
    idTokenClaims: answer.idTokenClaims ?? grant.tokens.idTokenClaims,
    scope: answer.scope ?? grant.tokens.scope,
  }
  return { ...grant, version, tokens }
}
