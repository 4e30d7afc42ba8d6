import type { KeyValueStore } from './store.js'
import { redisKeys } from './keys.js'
import { parseMemo } from './parse-memo.js'

/** What the broker knows of an offline grant besides its sealed tokens: who, since when, last used, which scopes. */
export interface OfflineGrant {
  grantId: string
  /** the id the session administration API shows (never the grant's Redis key) */
  publicId: string
  sub: string
  /** epoch ms */
  createdAt: number
  /** epoch ms */
  lastUsedAt: number
  scopes: readonly string[]
}

/**
 * The offline grants of each user (a login with `offline=1` whose provider issued a refresh token): the grant record
 * itself is the one the login's session uses (one copy of each refresh token); this keeps the per-user list, the
 * metadata shown to the user and the idle timeout (`jobs.offlineGrantIdleSeconds`), which each use slides.
 */
export interface OfflineGrants {
  add(grant: OfflineGrant): Promise<void>
  /** newest first */
  list(sub: string): Promise<OfflineGrant[]>
  /**
   * newest first, each with its sealed grant record (undefined when gone), read with its metadata in one command
   * (they share the grant's hash tag): the job call path, one SMEMBERS and one MGET per grant
   */
  listWithRecords(sub: string): Promise<OfflineGrantRecords>
  /**
   * one grant by id with its sealed record, in one MGET: undefined when it is gone (revoked, expired) or when a newer
   * offline grant of its user exists, which the user's list would put first
   */
  currentWithRecord(grantId: string): Promise<OfflineGrantRecords[number] | undefined>
  /** drops the "newer grant exists" marker of `grantId` when the grant it names (`newerId`) is gone */
  clearStaleMarker(grantId: string, newerId: string): Promise<void>
  byPublicId(publicId: string): Promise<OfflineGrant | undefined>
  /** a use: slides the idle timeout of the grant and its entries (at most once a minute per grant, off the request) */
  touch(grant: OfflineGrant): void
  remove(grant: OfflineGrant): Promise<void>
}

/**
 * a user's offline grants, newest first, each with its sealed grant record (undefined when gone) and, when one is set,
 * the id its "newer grant exists" marker names
 */
export type OfflineGrantRecords = Array<{ grant: OfflineGrant; sealed: string | undefined; newer?: string }>

const touchEveryMs = 60_000

export function createOfflineGrants(deps: {
  store: KeyValueStore
  prefix: string
  idleMs: number
  now: () => number
  /** the grant record's own key (grant-store.ts), whose TTL slides with the entry */
  grantKey: (grantId: string) => string
}): OfflineGrants {
  const { indexOfflineGrants: listKey, offlineGrant: metaKey, publicGrant: publicKey, offlineSuperseded: newerKey } = redisKeys(deps.prefix)
  // a job's every call reads its grant's metadata (rewritten at most once a minute, on a touch)
  const parsed = parseMemo((raw) => JSON.parse(raw) as OfflineGrant)
  const parse = (grantId: string, raw: string | undefined) => (raw === undefined ? undefined : parsed.of(grantId, raw))
  const read = async (grantId: string) => parse(grantId, await deps.store.get(metaKey(grantId)))
  /** a grant's metadata, sealed record and "newer grant exists" marker: one MGET (they share the grant's hash tag) */
  const readWithRecord = (grantId: string) =>
    deps.store
      .getTogether([metaKey(grantId), deps.grantKey(grantId), newerKey(grantId)])
      .then(([meta, sealed, newer]) => ({ grant: parse(grantId, meta), sealed, newer }))
  /** the live entries of a user's list, newest first; an entry whose metadata expired is dropped from the list */
  async function live<T>(sub: string, readOne: (grantId: string) => Promise<T & { grant: OfflineGrant | undefined }>) {
    const ids = await deps.store.setMembers(listKey(sub))
    const found = await Promise.all(ids.map(readOne))
    const alive: Array<T & { grant: OfflineGrant }> = []
    for (const [i, entry] of found.entries()) {
      if (entry.grant) alive.push(entry as T & { grant: OfflineGrant })
      else await deps.store.removeFromSet(listKey(sub), ids[i] as string)
    }
    return alive.sort((a, b) => b.grant.createdAt - a.grant.createdAt)
  }
  const write = async (grant: OfflineGrant) => {
    await deps.store.set(metaKey(grant.grantId), JSON.stringify(grant), deps.idleMs)
    await deps.store.set(publicKey(grant.publicId), grant.grantId, deps.idleMs)
    await deps.store.addToSet(listKey(grant.sub), grant.grantId, deps.idleMs)
  }
  const touched = new Map<string, number>()
  return {
    async add(grant) {
      // written first, so that a login adding another grant of the user at the same time sees this one; then every
      // older grant (by createdAt, the order the list serves in) is marked, and this one too if a newer one exists
      await write(grant)
      const others = (await deps.store.setMembers(listKey(grant.sub))).filter((id) => id !== grant.grantId)
      const metas = await Promise.all(others.map(read))
      const newer = metas.find((meta) => meta !== undefined && meta.createdAt > grant.createdAt)
      const older = metas.filter((meta): meta is OfflineGrant => meta !== undefined && meta.createdAt < grant.createdAt)
      await Promise.all(older.map((meta) => deps.store.set(newerKey(meta.grantId), grant.grantId, deps.idleMs)))
      if (newer) await deps.store.set(newerKey(grant.grantId), newer.grantId, deps.idleMs)
    },
    async list(sub) {
      return (await live(sub, async (grantId) => ({ grant: await read(grantId) }))).map((entry) => entry.grant)
    },
    listWithRecords(sub) {
      return live(sub, async (grantId) => {
        const { grant, sealed, newer } = await readWithRecord(grantId)
        return { grant, sealed, ...(newer !== undefined && { newer }) }
      })
    },
    async clearStaleMarker(grantId, newerId) {
      // the grant a marker names is gone (revoked, dropped, expired): the marker goes, unless a newer login replaced it
      if ((await deps.store.get(metaKey(newerId))) === undefined) await deps.store.delIfEquals(newerKey(grantId), newerId)
    },
    async currentWithRecord(grantId) {
      const { grant, sealed, newer } = await readWithRecord(grantId)
      return grant === undefined || newer !== undefined ? undefined : { grant, sealed }
    },
    async byPublicId(publicId) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(publicId)) return undefined
      const grantId = await deps.store.get(publicKey(publicId))
      return grantId === undefined ? undefined : read(grantId)
    },
    touch(grant) {
      const at = deps.now()
      if (at - (touched.get(grant.grantId) ?? 0) < touchEveryMs) return
      if (touched.size >= 10_000) touched.clear()
      touched.set(grant.grantId, at)
      const next = { ...grant, lastUsedAt: at }
      // only a grant that still exists is touched (SET XX): a touch that lands after a revocation brings nothing back
      const slide = async () => {
        if ((await deps.store.swap(metaKey(grant.grantId), JSON.stringify(next))) === undefined) return
        const keys = [metaKey(grant.grantId), publicKey(grant.publicId), listKey(grant.sub), newerKey(grant.grantId), deps.grantKey(grant.grantId)]
        await Promise.all(keys.map((key) => deps.store.expire(key, deps.idleMs)))
      }
      void slide().catch(() => undefined)
    },
    async remove(grant) {
      touched.delete(grant.grantId)
      parsed.forget(grant.grantId)
      await deps.store.del(metaKey(grant.grantId), publicKey(grant.publicId), newerKey(grant.grantId))
      await deps.store.removeFromSet(listKey(grant.sub), grant.grantId)
    },
  }
}
