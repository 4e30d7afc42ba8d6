import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineGrants, type OfflineGrant } from '../../../src/session/offline-grants.js'
import { redisKeys } from '../../../src/session/keys.js'
import { createRedisStore } from '../../../src/session/redis-store.js'
import { redisUrl, uniquePrefix } from '../../support/redis.js'

// The offline-grant index against a real Redis: which grant is "current" (the job path's one-MGET shortcut) must
// agree with the list's order (newest createdAt first) whatever order logins finish in, and a touch never revives
// a revoked grant.

const redis = new Redis(redisUrl())
const store = createRedisStore(new Redis(redisUrl()))
afterAll(async () => {
  redis.disconnect()
  await store.close()
})

function grants() {
  const prefix = uniquePrefix('offline-store')
  const clock = { now: 1_700_000_000_000 }
  const keys = redisKeys(prefix)
  const offline = createOfflineGrants({ store, prefix, idleMs: 3_600_000, now: () => clock.now, grantKey: keys.grant })
  const grant = (id: string, createdAt: number): OfflineGrant => ({ grantId: id, publicId: `p-${id}`, sub: 'alice', createdAt, lastUsedAt: createdAt, scopes: ['openid'] })
  return { keys, clock, offline, grant }
}

describe('offline grants: the current grant of a user', () => {
  it('when a grant\'s metadata changes in Redis between two reads, then the second read has the new metadata, and no caller can change it', async () => {
    const { offline, grant, keys } = grants()
    await offline.add(grant('g', 1000))
    const first = await offline.currentWithRecord('g')
    expect(first?.grant.lastUsedAt).toBe(1000)
    expect(() => ((first!.grant as { sub: string }).sub = 'mallory')).toThrow(TypeError)
    // another instance's touch rewrites the record
    await redis.set(keys.offlineGrant('g'), JSON.stringify({ ...grant('g', 1000), lastUsedAt: 5000 }))
    expect((await offline.currentWithRecord('g'))?.grant).toMatchObject({ sub: 'alice', lastUsedAt: 5000 })
  })

  it('when logins finish out of order (a newer grant is added before an older one), then only the newest is current, as the list says', async () => {
    const { offline, grant } = grants()
    await offline.add(grant('old', 1000))
    await offline.add(grant('newest', 3000))
    await offline.add(grant('late', 2000)) // created before "newest", added after it
    expect((await offline.list('alice')).map((g) => g.grantId)).toEqual(['newest', 'late', 'old'])
    expect(await offline.currentWithRecord('newest')).toBeDefined()
    expect(await offline.currentWithRecord('late')).toBeUndefined()
    expect(await offline.currentWithRecord('old')).toBeUndefined()
  })

  it('when two logins add their grants at the same moment, then the older of them is not current', async () => {
    const { offline, grant } = grants()
    await offline.add(grant('old', 1000))
    await Promise.all([offline.add(grant('n1', 2000)), offline.add(grant('n2', 3000))])
    expect(await offline.currentWithRecord('n2')).toBeDefined()
    expect(await offline.currentWithRecord('n1')).toBeUndefined()
    expect(await offline.currentWithRecord('old')).toBeUndefined()
  })

  it('when the newer grant is gone, then the stale marker on the older one is cleared and it is current again; a live newer one keeps it', async () => {
    const { offline, grant } = grants()
    const newer = grant('newer', 2000)
    await offline.add(grant('old', 1000))
    await offline.add(newer)
    const listed = (await offline.listWithRecords('alice')).find((e) => e.grant.grantId === 'old')
    expect(listed?.newer).toBe('newer')
    await offline.clearStaleMarker('old', 'newer')
    expect(await offline.currentWithRecord('old')).toBeUndefined() // "newer" still exists: the marker stays
    await offline.remove(newer)
    await offline.clearStaleMarker('old', 'newer')
    expect(await offline.currentWithRecord('old')).toBeDefined()
  })

  it('when a touch lands after the grant was removed, then nothing of it comes back', async () => {
    const { offline, grant, keys, clock } = grants()
    const g = grant('gone', 1000)
    await offline.add(g)
    await offline.remove(g)
    clock.now += 120_000
    offline.touch(g)
    await sleep(100)
    expect(await redis.exists(keys.offlineGrant('gone'), keys.publicGrant('p-gone'))).toBe(0)
    expect(await offline.list('alice')).toEqual([])
  })

  it('when a live grant is touched, then its metadata slides and lastUsedAt moves', async () => {
    const { offline, grant, keys, clock } = grants()
    const g = grant('live', 1000)
    await offline.add(g)
    await redis.pexpire(keys.offlineGrant('live'), 10_000)
    clock.now += 120_000
    offline.touch(g)
    await sleep(100)
    expect(await redis.pttl(keys.offlineGrant('live'))).toBeGreaterThan(3_000_000)
    expect((await offline.list('alice'))[0]?.lastUsedAt).toBe(clock.now)
  })
})
