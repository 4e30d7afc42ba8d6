import type { Logger } from '../observability/logger.js'
import { LogEvents } from '../observability/log-events.js'
import type { RedisClient } from './redis-store.js'

export type EvictionVerdict = 'safe' | 'evicts-sessions' | 'unknown'

/**
 * What Redis's `maxmemory-policy` means for the broker. Every key it writes has a TTL (sessions, grants, locks,
 * rotation-grace records), so `volatile-*` policies pick among all of them just as `allkeys-*` do: a full Redis
 * then drops live sessions (their users get 401 and log in again) and, worse, a refresh lock or a rotation-grace
 * record, after which a rotated refresh token can be presented twice and the provider revokes the whole grant.
 * `noeviction` makes a full Redis refuse writes instead, which the broker answers with 503 and nobody is logged out.
 */
export function evictionVerdict(policy: string): EvictionVerdict {
  if (policy === 'noeviction') return 'safe'
  if (policy.startsWith('allkeys-') || policy.startsWith('volatile-')) return 'evicts-sessions'
  return 'unknown'
}

/**
 * Reads `maxmemory-policy` once at start (CONFIG GET) and logs what it means. Managed Redis services often refuse
 * CONFIG; then the broker says it could not check and starts anyway.
 */
export async function checkEvictionPolicy(redis: RedisClient, logger: Logger): Promise<EvictionVerdict> {
  let policy: string | undefined
  try {
    const answer = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as unknown
    policy = Array.isArray(answer) && typeof answer[1] === 'string' ? answer[1] : undefined
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    logger.info({ event: LogEvents.redisEvictionPolicy, reason }, 'could not read Redis maxmemory-policy (CONFIG GET refused); set it to noeviction')
    return 'unknown'
  }
  if (policy === undefined) {
    logger.info({ event: LogEvents.redisEvictionPolicy }, 'could not read Redis maxmemory-policy; set it to noeviction')
    return 'unknown'
  }
  const verdict = evictionVerdict(policy)
  if (verdict === 'evicts-sessions') {
    logger.warn(
      { event: LogEvents.redisEvictionPolicy, policy },
      `Redis maxmemory-policy ${policy} evicts live sessions, grants and refresh locks when memory runs out; use noeviction`,
    )
  } else {
    logger.info({ event: LogEvents.redisEvictionPolicy, policy }, `Redis maxmemory-policy ${policy}`)
  }
  return verdict
}
