import { createHash } from 'node:crypto'
import { isIPv6 } from 'node:net'
import type { KeyValueStore } from '../session/store.js'

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
}

/**
 * The address a per-client limit counts: an IPv6 client controls at least a /64 (RFC 6177, RFC 7721 §4), so it
 * counts as one; an IPv4-mapped address counts as the IPv4 address.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped?.[1]) return mapped[1]
  if (!isIPv6(ip)) return ip
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::')
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  // an embedded IPv4 tail (`64:ff9b::192.0.2.1`) stands for two groups
  const width = (part: string[]) => part.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
  const zeros = tail === undefined ? [] : Array<string>(8 - width(groups(head)) - width(groups(tail))).fill('0')
  const full = [...groups(head), ...zeros, ...groups(tail)]
  return `${full.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
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
  return {
    async hit(hits) {
      const now = deps.now()
      const counted = await Promise.all(
        hits.map(async ({ limit, key }) => {
          const window = Math.floor(now / limit.windowMs)
          const endsAt = (window + 1) * limit.windowMs
          const storeKey = `${deps.prefix}rl:${limit.name}:${window}:${hashKey(key)}`
          const count = await deps.store.increment(storeKey, endsAt - now + clockSlackMs)
          return { limit, endsAt, over: count > limit.limit, first: count === limit.limit + 1 }
        }),
      )
      const over = counted.filter((c) => c.over)
      if (over.length === 0) return { limited: false }
      const last = over.reduce((a, b) => (b.endsAt > a.endsAt ? b : a))
      return {
        limited: true,
        name: over.map((c) => c.limit.name).join('+'),
        retryAfterSeconds: Math.max(1, Math.ceil((last.endsAt - now) / 1000)),
        first: over.some((c) => c.first),
      }
    },
  }
}
