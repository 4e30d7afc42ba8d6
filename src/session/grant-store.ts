import type { TokenSet } from '../oauth/provider.js'
import type { KeyRing } from './keyring.js'
import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'
import { parseMemo } from './parse-memo.js'

/** A per-API token derived from the grant (RFC 8707 resource / narrower scopes), cached with it. */
export interface ApiToken {
  accessToken: string
  expiresAt?: number
}

/**
 * The token set of one login (docs/architecture.md "Where tokens live"). Exactly one copy of each refresh token
 * exists: sessions
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
  /** epoch ms at which the grant ends (its session's absolute timeout); absent: createdAt + the browser's */
  expiresAt?: number
  /** the user's offline grant (login with offline=1): it outlives its sessions, until revoked or idle too long */
  offline?: boolean
}

export interface GrantStore {
  /** the Redis key of a grant record (its TTL slides with an offline grant's use) */
  key(id: string): string
  get(id: string): Promise<Grant | undefined>
  /** the grant in a record already read from `key(id)` (undefined: none, or sealed with a key no longer in the ring) */
  open(id: string, sealed: string | undefined): Grant | undefined
  put(grant: Grant, ttlMs: number): Promise<void>
  /** a new TTL for the record as it is, only while it exists unchanged (never writes a deleted grant back) */
  extend(id: string, ttlMs: number): Promise<boolean>
  delete(id: string): Promise<void>
}

/**
 * What a grant record keeps: the tokens, not what was read from them at login. The ID token's claims are in the ID
 * token itself and the user's claims in the session; `extra` served the subject lookup at login (README "Memory per
 * session"). A refresh answer's ID token claims are not needed later either.
 */
function storedShape(grant: Grant): Grant {
  const { idTokenClaims: _claims, extra: _extra, ...tokens } = grant.tokens
  return { ...grant, tokens }
}

export function createGrantStore(deps: { store: KeyValueStore; keyRing: KeyRing; prefix: string }): GrantStore {
  const key = redisKeys(deps.prefix).grant
  // The hot path reads the same sealed record on every API call: the grant last opened per id is kept, parsed and
  // frozen, and reused while Redis returns the very same ciphertext (any write changes it: fresh data key and IV).
  // Frozen, because every caller shares it: new versions are built by copying, never by mutation. Bounded.
  const opened = parseMemo((sealed, id) => JSON.parse(deps.keyRing.open(sealed, `grant:${id}`)) as Grant)
  const open = (id: string, sealed: string): Grant => opened.of(id, sealed)
  const openRecord = (id: string, sealed: string | undefined): Grant | undefined => {
    if (!sealed) {
      opened.forget(id)
      return undefined
    }
    try {
      return open(id, sealed)
    } catch {
      // a record sealed with a key no longer in the ring (or tampered with) is as good as absent
      return undefined
    }
  }
  return {
    key,
    async get(id) {
      return openRecord(id, await deps.store.get(key(id)))
    },
    open: openRecord,
    async put(grant, ttlMs) {
      await deps.store.setReplicated(key(grant.id), deps.keyRing.seal(JSON.stringify(storedShape(grant)), `grant:${grant.id}`), ttlMs)
    },
    async extend(id, ttlMs) {
      const sealed = await deps.store.get(key(id))
      return sealed !== undefined && (await deps.store.expireIfEquals(key(id), sealed, ttlMs))
    },
    async delete(id) {
      opened.forget(id)
      await deps.store.delReplicated(key(id))
    },
  }
}
