import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { athFor, generateDpopKey, makeProof, type DpopKey } from '../../../examples/mobile-client.js'
import { createDpopReplayCheck, dpopJtiKey } from '../../../src/mobile/dpop-replay.js'
import { createDpopVerifier, DpopError } from '../../../src/mobile/dpop.js'
import { createRedisStore } from '../../../src/session/redis-store.js'
import type { KeyValueStore } from '../../../src/session/store.js'
import { keysWithPrefix, redisUrl, uniquePrefix } from '../../support/redis.js'

const publicUrl = new URL('https://app.example.com')
const handle = 'bffm_example-handle'
let store: KeyValueStore
let key: DpopKey

beforeAll(async () => {
  store = createRedisStore(new Redis(redisUrl()))
  key = await generateDpopKey()
})
afterAll(() => store.close())

function verifierOn(prefix: string) {
  const replay = createDpopReplayCheck({ store, prefix })
  return createDpopVerifier({ publicUrl, clock: Date.now, replay })
}

const proof = (jti?: string) =>
  makeProof(key, { htm: 'GET', htu: `${publicUrl.origin}/api/orders`, ath: athFor(handle), ...(jti ? { jti } : {}) })
const input = (value: string) => ({ proof: value, method: 'GET', path: '/api/orders', accessToken: handle, expectedJkt: key.jkt })

describe('DPoP jti replay record on a real Redis (RFC 9449 §11.1, invariant 16)', () => {
  it('when one proof reaches two broker instances sharing the Redis, then only the first accepts it', async () => {
    const prefix = uniquePrefix('dpop-replay-instances')
    const once = await proof()
    const results = await Promise.allSettled([verifierOn(prefix).verify(input(once)), verifierOn(prefix).verify(input(once))])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected')
    expect((refused?.reason as DpopError).reason).toBe('replayed_jti')
  })

  it('when a proof is accepted, then one hashed key with a TTL of at least the window is written and no jti in clear', async () => {
    const prefix = uniquePrefix('dpop-replay-keys')
    const verifier = verifierOn(prefix)
    await verifier.verify(input(await proof('jti-in-clear')))
    const keys = await keysWithPrefix(redisUrl(), prefix)
    expect(keys.map((k) => k.key)).toEqual([dpopJtiKey(prefix, key.jkt, 'jti-in-clear')])
    expect(keys[0]?.key).not.toContain('jti-in-clear')
    expect(keys[0]?.ttlMs).toBeGreaterThan(60_000)
    expect(keys[0]?.ttlMs).toBeLessThanOrEqual(verifier.replayTtlMs)
  })

  it('when a forged proof is refused, then nothing is written to Redis', async () => {
    const prefix = uniquePrefix('dpop-replay-forged')
    const stranger = await generateDpopKey()
    const forged = await makeProof(stranger, { htm: 'GET', htu: `${publicUrl.origin}/api/orders`, jwk: key.publicJwk })
    await expect(verifierOn(prefix).verify(input(forged))).rejects.toThrow(DpopError)
    expect(await keysWithPrefix(redisUrl(), prefix)).toEqual([])
  })

  it('when Redis cannot answer, then verification rejects with the store error, never as a first sighting', async () => {
    const unreachable = { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false }
    const down = createRedisStore(new Redis('redis://127.0.0.1:1', unreachable))
    const replay = createDpopReplayCheck({ store: down, prefix: 'unused:' })
    const verifier = createDpopVerifier({ publicUrl, clock: Date.now, replay })
    const error = await verifier.verify(input(await proof())).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(DpopError)
    await down.close()
  })
})
