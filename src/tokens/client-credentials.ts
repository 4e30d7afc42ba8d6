import { createHash } from 'node:crypto'
import { BffError } from '../errors.js'
import type { OAuthProvider } from '../oauth/provider.js'
import { LogEvents } from '../observability/log-events.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import type { KeyRing } from '../session/keyring.js'
import type { KeyValueStore } from '../session/store.js'
import type { TokenView } from './audience.js'
import type { Clock } from './clock.js'
import { isExpired, needsRefresh } from './expiry.js'
import { lockOptionsFor, withLock, type LockOptions } from './lock.js'
import { createSingleFlight } from './single-flight.js'
import { redisKeys } from '../session/keys.js'

export interface ClientCredentialsRequest {
  scopes?: readonly string[]
  /** RFC 8707 resource indicator */
  resource?: string
}

/** Application tokens (RFC 6749 §4.4), one cache entry per (scopes, resource), shared by every instance. */
export interface ClientCredentials {
  tokenFor(request?: ClientCredentialsRequest): Promise<string>
}

export interface ClientCredentialsDeps {
  store: KeyValueStore
  keyRing: KeyRing
  provider: OAuthProvider
  clock: Clock
  prefix: string
  refreshSkewSeconds: number
  logger: Logger
  metrics: Metrics
  providerTimeoutMs?: number
  lock?: Partial<LockOptions>
}

// RFC 6749 §5.1 makes expires_in optional; a token without one is still re-fetched now and then
const unknownLifetimeCacheMs = 300_000

/**
 * Cached sealed in the store until the refresh skew (the Duende AccessTokenManagement client-credentials cache);
 * a miss is fetched once per process (single-flight) and once across instances (the store lock, with the cache
 * re-checked under it). A transient provider failure still serves a cached token that has not expired.
 */
export function createClientCredentials(deps: ClientCredentialsDeps): ClientCredentials {
  const flights = createSingleFlight()
  const keys = redisKeys(deps.prefix)
  const lockOptions: LockOptions = {
    ...lockOptionsFor(deps.providerTimeoutMs ?? 10_000),
    onWait: (seconds, outcome) => deps.metrics.lockWaitSeconds.observe({ lock: 'client_credentials', outcome }, seconds),
    ...deps.lock,
  }
  const cache = (result: 'hit' | 'miss' | 'stale') => deps.metrics.clientCredentialsCache.inc({ result })
  const fresh = (t: TokenView) => !needsRefresh(t.expiresAt, deps.clock.now(), deps.refreshSkewSeconds, t.expiresIn)

  async function read(id: string): Promise<TokenView | undefined> {
    const sealed = await deps.store.get(keys.clientCredentials(id))
    if (!sealed) return undefined
    try {
      return JSON.parse(deps.keyRing.open(sealed, `cc:${id}`)) as TokenView
    } catch {
      // sealed with a key no longer in the ring: fetch a new one
      return undefined
    }
  }

  /** TTL = the token's remaining lifetime: the cache never hands out an expired token, and nothing lives forever */
  async function write(id: string, token: TokenView): Promise<void> {
    const ttlMs =
      token.expiresAt === undefined ? unknownLifetimeCacheMs : token.expiresAt * 1000 - deps.clock.now()
    if (ttlMs <= 0) return
    await deps.store.set(keys.clientCredentials(id), deps.keyRing.seal(JSON.stringify(token), `cc:${id}`), ttlMs)
  }

  async function fetch(id: string, request: ClientCredentialsRequest): Promise<string> {
    const cached = await read(id)
    // another request or instance fetched while this one waited for the lock
    if (cached && fresh(cached)) return cached.accessToken
    try {
      const answer = await deps.provider.clientCredentials({ scope: request.scopes, resource: request.resource })
      deps.metrics.clientCredentialsFetches.inc({ outcome: 'success' })
      const logFields = { event: LogEvents.clientCredentialsFetched, resource: request.resource }
      deps.logger.info(logFields, 'client credentials token fetched')
      await write(id, { accessToken: answer.accessToken, expiresAt: answer.expiresAt, expiresIn: answer.expiresIn })
      return answer.accessToken
    } catch (err) {
      deps.metrics.clientCredentialsFetches.inc({ outcome: err instanceof BffError ? err.code : 'server_error' })
      throw err
    }
  }

  return {
    async tokenFor(request = {}) {
      const id = cacheId(request)
      const cached = await read(id)
      if (cached && fresh(cached)) {
        cache('hit')
        return cached.accessToken
      }
      cache('miss')
      try {
        return await flights.run(id, () =>
          withLock(deps.store, keys.clientCredentialsLock(id), () => fetch(id, request), lockOptions),
        )
      } catch (err) {
        const transient = err instanceof BffError && err.code === 'idp_unavailable'
        if (transient && cached && !isExpired(cached.expiresAt, deps.clock.now())) {
          cache('stale')
          return cached.accessToken
        }
        throw err
      }
    },
  }
}

/** Scope order and duplicates do not make a different token (RFC 6749 §3.3: scope is a set). */
export function cacheId(request: ClientCredentialsRequest): string {
  const scopes = [...new Set(request.scopes ?? [])].sort()
  return createHash('sha256')
    .update(JSON.stringify([scopes, request.resource ?? null]))
    .digest('base64url')
}
