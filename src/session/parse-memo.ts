/**
 * A parser for records the hot path reads on every request (a session record, an offline grant's metadata) that
 * hands back the value it parsed before when the key's text is the same: a record changes far less often than it is
 * read, and a JSON.parse per call is both CPU and young-generation garbage. The value is frozen, all the way down,
 * so no caller can change what the next call reads. Bounded: past `max` keys it starts again.
 */
export function parseMemo<T>(parse: (raw: string, key: string) => T, max = 10_000): { of(key: string, raw: string): T; forget(key: string): void } {
  const known = new Map<string, { raw: string; value: T }>()
  return {
    of(key, raw) {
      const hit = known.get(key)
      if (hit?.raw === raw) return hit.value
      const value = deepFreeze(parse(raw, key))
      if (known.size >= max) known.clear()
      known.set(key, { raw, value })
      return value
    },
    forget(key) {
      known.delete(key)
    },
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}
