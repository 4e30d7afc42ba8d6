import { sessionExpired } from '../errors.js'
import { LogEvents } from '../observability/log-events.js'
import type { Logger } from '../observability/logger.js'
import type { Grant, GrantStore } from '../session/grant-store.js'
import type { Clock } from './clock.js'

export interface GrantWriteDeps {
  grants: GrantStore
  clock: Clock
  logger: Logger
  /** lifetime of a grant from its creation, for a grant without its own `expiresAt` */
  grantTtlMs: number
  /** an offline grant lives this long after its last use (jobs.offlineGrantIdleSeconds) */
  offlineGrantIdleMs?: number
}

/**
 * Writes `next` (built from the version read under the grant's lock, plus one) unless the grant changed meanwhile:
 * a newer version is never replaced by an older one, and a grant removed meanwhile (logout) is not brought back.
 */
export async function writeUnlessNewer(deps: GrantWriteDeps, next: Grant): Promise<void> {
  const stored = await deps.grants.get(next.id)
  if (!stored) throw sessionExpired({ detail: 'grant removed during refresh' })
  if (stored.version >= next.version) {
    const fields = { event: LogEvents.tokenWriteSkipped, stored: stored.version, ours: next.version }
    deps.logger.warn(fields, 'stale grant write skipped')
    return
  }
  const ttlMs = next.offline && deps.offlineGrantIdleMs !== undefined
    ? deps.offlineGrantIdleMs
    : Math.max(1000, (next.expiresAt ?? next.createdAt + deps.grantTtlMs) - deps.clock.now())
  await deps.grants.put(next, ttlMs)
}
