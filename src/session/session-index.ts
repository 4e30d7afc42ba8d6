import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'

/** What a session is found by: the broker's subject, and what a back-channel logout token carries. */
export interface SessionIndexKeys {
  sub: string
  /** the ID token's `sub` (OIDC Back-Channel Logout 1.0 §2.4 names this one, whatever provider.subjectClaim is) */
  providerSub?: string
  providerSid?: string
  /** the opaque id the session administration API names the session by (never its cookie value or handle) */
  publicId?: string
}

/**
 * `sub`, provider `sub` and provider `sid` → session ids, for back-channel logout (and, later, session
 * administration). Entries expire with the longest session they could point at.
 */
export interface SessionIndex {
  add(sessionId: string, keys: SessionIndexKeys, ttlMs: number): Promise<void>
  remove(sessionId: string, keys: SessionIndexKeys): Promise<void>
  /** every session under any of the keys given; callers check the session record itself */
  find(keys: { sub?: string; providerSub?: string; providerSid?: string }): Promise<string[]>
  /** the session id behind a public id, or undefined */
  byPublicId(publicId: string): Promise<string | undefined>
}

export function createSessionIndex(deps: { store: KeyValueStore; prefix: string }): SessionIndex {
  const { indexBySub: subKey, indexByProviderSub: providerSubKey, indexBySid: sidKey, publicSession: publicKey } = redisKeys(deps.prefix)
  const keysOf = (keys: SessionIndexKeys) => [
    subKey(keys.sub),
    ...(keys.providerSub ? [providerSubKey(keys.providerSub)] : []),
    ...(keys.providerSid ? [sidKey(keys.providerSid)] : []),
  ]
  return {
    async add(sessionId, keys, ttlMs) {
      for (const key of keysOf(keys)) await deps.store.addToSet(key, sessionId, ttlMs)
      if (keys.publicId) await deps.store.set(publicKey(keys.publicId), sessionId, ttlMs)
    },
    async remove(sessionId, keys) {
      for (const key of keysOf(keys)) await deps.store.removeFromSet(key, sessionId)
      if (keys.publicId) await deps.store.del(publicKey(keys.publicId))
    },
    byPublicId(publicId) {
      return /^[A-Za-z0-9_-]{1,64}$/.test(publicId) ? deps.store.get(publicKey(publicId)) : Promise.resolve(undefined)
    },
    async find(keys) {
      const lookups: string[] = []
      if (keys.providerSid) lookups.push(sidKey(keys.providerSid))
      // sessions written before providerSub existed sit under the broker's subject only (which was the ID
      // token's sub whenever subjectClaim was `sub`): looked up there too, and told apart by their record
      if (keys.providerSub) lookups.push(providerSubKey(keys.providerSub), subKey(keys.providerSub))
      if (keys.sub) lookups.push(subKey(keys.sub))
      const found = new Set<string>()
      for (const key of new Set(lookups)) for (const id of await deps.store.setMembers(key)) found.add(id)
      return [...found]
    },
  }
}
