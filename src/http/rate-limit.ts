import { createHash } from 'node:crypto'
import type { KeyValueStore } from '../session/store.js'
import { redisKeys } from '../session/keys.js'

/** At most `limit` hits per `windowMs` for one key (a client IP, a username …). */
export interface WindowLimit {
  /** part of the store key and of the log line; never the counted value */
  name: string
  limit: number
  windowMs: number
}

export type RateLimitVerdict =
  | { limited: false }
  /** first: this hit is the first one over a limit in its window (log it once, not once per refused request) */
  | { limited: true; name: string; retryAfterSeconds: number; first: boolean }

export interface RateLimiter {
  /** counts one hit for each (limit, key) pair; limited when any count is over its limit */
  hit(hits: ReadonlyArray<{ limit: WindowLimit; key: string }>): Promise<RateLimitVerdict>
  /**
   * reads the counts without adding to them; limited when any has reached its limit, i.e. when the next `hit`
   * would be over it (for limits that count only failures: a caller past the limit is refused before it tries)
   */
  check(hits: ReadonlyArray<{ limit: WindowLimit; key: string }>): Promise<RateLimitVerdict>
}

/** The counted value as it appears in store keys and logs: a username is personal data, so only its hash. */
export const hashKey = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32)

// a little beyond the window's end, so an instance whose clock runs slightly behind still finds the counter
const clockSlackMs = 2000

/**
 * Fixed windows aligned on the clock (window n covers [n·w, (n+1)·w)), counted with INCR in the shared store:
 * every instance counts into the same key, so a limit holds however many instances share the Redis. Each counter
 * expires with its window (nothing the broker writes lives forever), and Retry-After (RFC 9110 §10.2.3) is the
 * time left in it.
 */
export function createRateLimiter(deps: { store: KeyValueStore; prefix: string; now: () => number }): RateLimiter {
  const keys = redisKeys(deps.prefix)
  const count = async (
    hits: ReadonlyArray<{ limit: WindowLimit; key: string }>,
    read: (storeKey: string, ttlMs: number) => Promise<number>,
    over: (count: number, limit: number) => boolean,
  ): Promise<RateLimitVerdict> => {
    const now = deps.now()
    const counted = await Promise.all(
      hits.map(async ({ limit, key }) => {
        const window = Math.floor(now / limit.windowMs)
        const endsAt = (window + 1) * limit.windowMs
        const storeKey = keys.rateLimit(limit.name, window, hashKey(key))
        const n = await read(storeKey, endsAt - now + clockSlackMs)
        return { limit, endsAt, over: over(n, limit.limit), first: n === limit.limit + 1 }
      }),
    )
    const overs = counted.filter((c) => c.over)
    if (overs.length === 0) return { limited: false }
    const last = overs.reduce((a, b) => (b.endsAt > a.endsAt ? b : a))
    return {
      limited: true,
      name: overs.map((c) => c.limit.name).join('+'),
      retryAfterSeconds: Math.max(1, Math.ceil((last.endsAt - now) / 1000)),
      first: overs.some((c) => c.first),
    }
  }
  return {
    hit: (hits) => count(hits, (key, ttlMs) => deps.store.increment(key, ttlMs), (n, limit) => n > limit),
    check: (hits) => count(hits, async (key) => Number((await deps.store.get(key)) ?? 0), (n, limit) => n >= limit),
  }
}
