import type { KeyValueStore } from './store.js'

/**
 * In-process store for the demo only (no Redis): single instance, lost on restart. Production refuses to start
 * without Redis (config/load.ts).
 */
export function createMemoryStore(now: () => number = Date.now): KeyValueStore {
  const values = new Map<string, { value: string | Set<string>; expiresAt: number }>()
  const live = (key: string) => {
    const entry = values.get(key)
    if (entry && entry.expiresAt <= now()) {
      values.delete(key)
      return undefined
    }
    return entry
  }
  const str = (key: string) => {
    const v = live(key)?.value
    return typeof v === 'string' ? v : undefined
  }
  const sweep = setInterval(() => {
    for (const key of values.keys()) live(key)
  }, 60_000)
  sweep.unref()
  return {
    async ping() {},
    isAvailable: () => true,
    async get(key) {
      return str(key)
    },
    async getTogether(keys) {
      return keys.map(str)
    },
    async set(key, value, ttlMs) {
      values.set(key, { value, expiresAt: now() + ttlMs })
    },
    // a single process has no replicas
    async setReplicated(key, value, ttlMs) {
      values.set(key, { value, expiresAt: now() + ttlMs })
    },
    async delReplicated(key) {
      values.delete(key)
    },
    async setIfAbsent(key, value, ttlMs) {
      if (live(key)) return false
      values.set(key, { value, expiresAt: now() + ttlMs })
      return true
    },
    async take(key) {
      const v = str(key)
      values.delete(key)
      return v
    },
    async swap(key, value) {
      const entry = live(key)
      if (typeof entry?.value !== 'string') return undefined
      const old = entry.value
      entry.value = value
      return old
    },
    async del(...keys) {
      for (const k of keys) values.delete(k)
    },
    async delIfEquals(key, value) {
      if (str(key) !== value) return false
      values.delete(key)
      return true
    },
    async expireIfEquals(key, value, ttlMs) {
      const entry = live(key)
      if (!entry || entry.value !== value) return false
      entry.expiresAt = now() + ttlMs
      return true
    },
    async addToSet(key, member, ttlMs) {
      const entry = live(key)
      const set = entry && entry.value instanceof Set ? entry.value : new Set<string>()
      set.add(member)
      values.set(key, { value: set, expiresAt: Math.max(entry?.expiresAt ?? 0, now() + ttlMs) })
    },
    async expire(key, ttlMs) {
      const entry = live(key)
      if (!entry) return false
      entry.expiresAt = now() + ttlMs
      return true
    },
    async ttl(key) {
      const entry = live(key)
      return entry && Number.isFinite(entry.expiresAt) ? entry.expiresAt - now() : undefined
    },
    async removeFromSet(key, member) {
      const v = live(key)?.value
      if (v instanceof Set) v.delete(member)
    },
    async setMembers(key) {
      const v = live(key)?.value
      return v instanceof Set ? [...v] : []
    },
    async increment(key, ttlMs) {
      const entry = live(key)
      const n = (entry && typeof entry.value === 'string' ? Number(entry.value) : 0) + 1
      values.set(key, { value: String(n), expiresAt: entry ? entry.expiresAt : now() + ttlMs })
      return n
    },
    async close() {
      clearInterval(sweep)
      values.clear()
    },
  }
}
