import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'

/**
 * provider `sid` → session ids and `sub` → session ids, for back-channel logout (and, later, session
 * administration). Entries expire with the longest session they could point at.
 */
export interface SessionIndex {
  add(sessionId: string, keys: { sub: string; providerSid?: string }, ttlMs: number): Promise<void>
  remove(sessionId: string, keys: { sub: string; providerSid?: string }): Promise<void>
  find(keys: { sub?: string; providerSid?: string }): Promise<string[]>
}

export function createSessionIndex(deps: { store: KeyValueStore; prefix: string }): SessionIndex {
  const { indexBySub: subKey, indexBySid: sidKey } = redisKeys(deps.prefix)
  return {
    async add(sessionId, keys, ttlMs) {
      await deps.store.addToSet(subKey(keys.sub), sessionId, ttlMs)
      if (keys.providerSid) await deps.store.addToSet(sidKey(keys.providerSid), sessionId, ttlMs)
    },
    async remove(sessionId, keys) {
      await deps.store.removeFromSet(subKey(keys.sub), sessionId)
      if (keys.providerSid) await deps.store.removeFromSet(sidKey(keys.providerSid), sessionId)
    },
    async find(keys) {
      const found = new Set<string>()
      if (keys.providerSid) for (const id of await deps.store.setMembers(sidKey(keys.providerSid))) found.add(id)
      if (keys.sub) for (const id of await deps.store.setMembers(subKey(keys.sub))) found.add(id)
      return [...found]
    },
  }
}
