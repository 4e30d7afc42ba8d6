import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../src/session/store.js'

export interface StoreUnderTest {
  store: KeyValueStore
  /** every key the suite writes starts with it, so suites can share one Redis */
  prefix: string
  close?: () => Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Short real TTLs: both stores expire on the wall clock. Wide margins keep a busy CI machine from flaking.
const shortTtlMs = 80
const pastTtlMs = 250

/** One behaviour suite for every KeyValueStore implementation (oauth2-proxy's RunSessionStoreTests idea). */
export function describeKeyValueStore(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let subject: StoreUnderTest
    let store: KeyValueStore
    const key = (label: string) => `${subject.prefix}${label}:${randomBytes(4).toString('hex')}`

    beforeAll(async () => {
      subject = await makeStore()
      store = subject.store
    })
    afterAll(async () => {
      await subject.close?.()
    })

    it('when the store is up, then ping resolves and isAvailable is true', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
      expect(store.isAvailable()).toBe(true)
    })

    it('when a value is set, then get returns it until its TTL ends, and nothing after', async () => {
      const k = key('set')
      await store.set(k, 'v1', shortTtlMs)
      expect(await store.get(k)).toBe('v1')
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBeUndefined()
    })

    it('when a value is set twice, then the second write wins and carries its own TTL', async () => {
      const k = key('overwrite')
      await store.set(k, 'old', 60_000)
      await store.set(k, 'new', shortTtlMs)
      expect(await store.get(k)).toBe('new')
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBeUndefined()
    })

    it('when a value is taken, then the first take returns it and the second finds nothing', async () => {
      const k = key('take')
      await store.set(k, 'once', 60_000)
      const [first, second] = await Promise.all([store.take(k), store.take(k)])
      expect([first, second].sort()).toEqual(['once', undefined].sort())
      expect(await store.get(k)).toBeUndefined()
    })

    it('when keys sharing one hash tag are read together, then each value comes back in its place, a missing one as undefined', async () => {
      const tag = `{${randomBytes(4).toString('hex')}}`
      await store.set(`${subject.prefix}a:${tag}`, 'first', 60_000)
      await store.set(`${subject.prefix}c:${tag}`, 'third', 60_000)
      expect(await store.getTogether([`${subject.prefix}a:${tag}`, `${subject.prefix}b:${tag}`, `${subject.prefix}c:${tag}`]))
        .toEqual(['first', undefined, 'third'])
      expect(await store.getTogether([])).toEqual([])
    })

    it('when twenty callers race setIfAbsent on one key, then exactly one wins and its value stays', async () => {
      const k = key('nx')
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k, `c${i}`, 60_000)))
      const winners = results.flatMap((won, i) => (won ? [`c${i}`] : []))
      expect(winners).toHaveLength(1)
      expect(await store.get(k)).toBe(winners[0])
    })

    it('when a setIfAbsent key expires, then the next setIfAbsent wins', async () => {
      const k = key('nx-ttl')
      expect(await store.setIfAbsent(k, 'a', shortTtlMs)).toBe(true)
      expect(await store.setIfAbsent(k, 'b', shortTtlMs)).toBe(false)
      await sleep(pastTtlMs)
      expect(await store.setIfAbsent(k, 'c', 60_000)).toBe(true)
      expect(await store.get(k)).toBe('c')
    })

    it('when another holder owns the key, then delIfEquals and expireIfEquals leave it alone', async () => {
      const k = key('holder')
      await store.set(k, 'holder-a', shortTtlMs)
      expect(await store.delIfEquals(k, 'holder-b')).toBe(false)
      expect(await store.expireIfEquals(k, 'holder-b', 60_000)).toBe(false)
      expect(await store.get(k)).toBe('holder-a')
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBeUndefined()
    })

    it('when the holder renews, then the key outlives its first TTL, and when it releases, then the key is gone', async () => {
      const k = key('lease')
      await store.set(k, 'holder-a', shortTtlMs)
      expect(await store.expireIfEquals(k, 'holder-a', 60_000)).toBe(true)
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBe('holder-a')
      expect(await store.delIfEquals(k, 'holder-a')).toBe(true)
      expect(await store.get(k)).toBeUndefined()
    })

    it('when members are added and removed, then the set lists the rest until its TTL ends', async () => {
      const k = key('set-members')
      await store.addToSet(k, 'a', shortTtlMs)
      await store.addToSet(k, 'b', shortTtlMs)
      await store.addToSet(k, 'b', shortTtlMs)
      expect((await store.setMembers(k)).sort()).toEqual(['a', 'b'])
      await store.removeFromSet(k, 'a')
      expect(await store.setMembers(k)).toEqual(['b'])
      await sleep(pastTtlMs)
      expect(await store.setMembers(k)).toEqual([])
    })

    it('when a shorter-lived member is added, then the set keeps its longer TTL (a browser session never shortens a mobile one)', async () => {
      const k = key('set-ttl')
      await store.addToSet(k, 'mobile', 60_000)
      await store.addToSet(k, 'browser', shortTtlMs)
      await sleep(pastTtlMs)
      expect((await store.setMembers(k)).sort()).toEqual(['browser', 'mobile'])
    })

    it('when a live key is given a new TTL, then it lives that long; a missing key stays missing', async () => {
      const k = key('expire')
      await store.set(k, 'v', shortTtlMs)
      expect(await store.expire(k, 60_000)).toBe(true)
      expect(await store.ttl(k)).toBeGreaterThan(shortTtlMs)
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBe('v')
      expect(await store.expire(k, shortTtlMs)).toBe(true)
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBeUndefined()
      expect(await store.ttl(k)).toBeUndefined()
      expect(await store.expire(k, 60_000)).toBe(false)
    })

    it('when a live key is swapped, then the old value comes back once, the TTL stays, and a missing key stays missing', async () => {
      const k = key('swap')
      await store.set(k, 'first', shortTtlMs)
      expect(await store.swap(k, 'second')).toBe('first')
      expect(await store.swap(k, 'third')).toBe('second')
      await sleep(pastTtlMs)
      expect(await store.get(k)).toBeUndefined()
      expect(await store.swap(k, 'fourth')).toBeUndefined()
      expect(await store.get(k)).toBeUndefined()
    })

    it('when a counter is incremented, then it counts within its window and restarts after the first TTL', async () => {
      const k = key('counter')
      expect(await store.increment(k, shortTtlMs)).toBe(1)
      // the TTL is set on the first increment only (fixed window), so later ones do not extend it
      expect(await store.increment(k, 60_000)).toBe(2)
      expect(await store.increment(k, 60_000)).toBe(3)
      await sleep(pastTtlMs)
      expect(await store.increment(k, shortTtlMs)).toBe(1)
    })

    it('when keys are unknown, then reads find nothing and writes that need a holder do nothing', async () => {
      const k = key('unknown')
      expect(await store.get(k)).toBeUndefined()
      expect(await store.take(k)).toBeUndefined()
      expect(await store.setMembers(k)).toEqual([])
      expect(await store.delIfEquals(k, 'x')).toBe(false)
      expect(await store.expireIfEquals(k, 'x', 60_000)).toBe(false)
      await expect(store.del(k, key('other'))).resolves.toBeUndefined()
      await expect(store.removeFromSet(k, 'x')).resolves.toBeUndefined()
      expect(await store.get(k)).toBeUndefined()
    })

    it('when several keys are deleted at once, then all of them are gone', async () => {
      const [a, b] = [key('del-a'), key('del-b')]
      await store.set(a, '1', 60_000)
      await store.set(b, '2', 60_000)
      await store.del(a, b)
      expect(await store.get(a)).toBeUndefined()
      expect(await store.get(b)).toBeUndefined()
    })
  })
}
