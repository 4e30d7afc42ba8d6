import type { TokenSet } from '../oauth/provider.js'
import type { KeyRing } from './keyring.js'
import type { KeyValueStore } from './store.js'

/** A per-API token derived from the grant (RFC 8707 resource / narrower scopes), cached with it. */
export interface ApiToken {
  accessToken: string
  expiresAt?: number
}

/**
 * The token set of one login (DESIGN.md "Where tokens live"). Exactly one copy of each refresh token exists: sessions
 * reference a grant by id and never copy tokens. Stored sealed with the key ring.
 */
export interface Grant {
  id: string
  subject: string
  tokens: TokenSet
  apiTokens: Record<string, ApiToken>
  /** epoch ms */
  createdAt: number
  /** bumped on every write; a writer never replaces a newer version with an older one */
  version: number
}

export interface GrantStore {
  get(id: string): Promise<Grant | undefined>
  put(grant: Grant, ttlMs: number): Promise<void>
  delete(id: string): Promise<void>
}

const maxOpened = 10_000

export function createGrantStore(deps: { store: KeyValueStore; keyRing: KeyRing; prefix: string }): GrantStore {
  const key = (id: string) => `${deps.prefix}grant:${id}`
  // The hot path reads the same sealed record on every API call: the last plaintext opened per grant is kept
  // and reused while Redis returns the very same ciphertext (any write changes it: fresh data key and IV).
  // Bounded; emptied when full. Each caller still gets its own parsed object.
  const opened = new Map<string, { sealed: string; plaintext: string }>()
  const open = (id: string, sealed: string) => {
    const hit = opened.get(id)
    if (hit?.sealed === sealed) return hit.plaintext
    const plaintext = deps.keyRing.open(sealed, `grant:${id}`)
    if (opened.size >= maxOpened) opened.clear()
    opened.set(id, { sealed, plaintext })
    return plaintext
  }
  return {
    async get(id) {
      const sealed = await deps.store.get(key(id))
      if (!sealed) {
        opened.delete(id)
        return undefined
      }
      try {
        return JSON.parse(open(id, sealed)) as Grant
      } catch {
        // a record sealed with a key no longer in the ring (or tampered with) is as good as absent
        return undefined
      }
    },
    async put(grant, ttlMs) {
      await deps.store.set(key(grant.id), deps.keyRing.seal(JSON.stringify(grant), `grant:${grant.id}`), ttlMs)
    },
    async delete(id) {
      opened.delete(id)
      await deps.store.del(key(id))
    },
  }
}
